"""Adapters that drive a ``torch.optim`` optimizer with lrlib schedules.

:class:`ScheduledLR` is a real ``torch.optim.lr_scheduler.LRScheduler``, so
anything that accepts a PyTorch scheduler accepts it. Call ``step()`` once per
optimizer update, after ``optimizer.step()``. The learning rate of group ``i``
at step ``t`` is ``base_lrs[i] * schedule(t)``.

:class:`PlateauLR` drives the metric-based :class:`lrlib.Plateau`, optionally
multiplied by a warmup schedule.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from .plateau import Plateau, PlateauState
from .schedules import Schedule, from_config

__all__ = ["ScheduledLR", "PlateauLR", "set_momentum"]


def _set(group: dict[str, Any], key: str, value: float) -> None:
    """Write ``value`` into ``group[key]``; tensors are filled in place (no recompiles)."""
    if isinstance(group[key], torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


def set_momentum(optimizer: Optimizer, value: float) -> None:
    """Set SGD/RMSprop ``momentum`` or Adam-style ``betas[0]`` in every param group."""
    for group in optimizer.param_groups:
        if "betas" in group:
            beta1 = group["betas"][0]
            if isinstance(beta1, torch.Tensor):
                beta1.fill_(value)
            else:
                group["betas"] = (value, *group["betas"][1:])
        elif "momentum" in group:
            _set(group, "momentum", value)
        else:
            raise ValueError(
                f"momentum schedule given, but the optimizer {type(optimizer).__name__} has neither "
                "'momentum' nor 'betas' in its param groups")


def _check_schedule(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, Schedule):
        raise TypeError(f"{name} must be an lrlib Schedule, got {type(value).__name__}")


class ScheduledLR(LRScheduler):
    """``lr_i(t) = base_lrs[i] * schedule(t)``, and optionally ``momentum(t)`` for every group.

    Args:
        optimizer: any ``torch.optim`` optimizer; each group's ``lr`` at
            construction becomes its base LR.
        schedule: an lrlib :class:`~lrlib.Schedule`, a factor per step.
        momentum: optional schedule of *absolute* momentum (SGD/RMSprop) or Adam
            ``beta1`` values, e.g. :meth:`lrlib.Cyclic.momentum`.
        last_epoch: as in PyTorch; leave at -1 and use :meth:`load_state_dict`
            to resume.

    ``state_dict()`` holds only plain Python values (the schedules as configs),
    so checkpoints load with ``torch.load(weights_only=True)``.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule, momentum: Schedule | None = None,
                 last_epoch: int = -1) -> None:
        _check_schedule("schedule", schedule)
        _check_schedule("momentum", momentum, optional=True)
        self.schedule = schedule
        self.momentum = momentum
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.schedule(max(self.last_epoch, 0))
        return [float(base) * factor for base in self.base_lrs]

    _get_closed_form_lr = get_lr

    def step(self, epoch: int | None = None) -> None:  # type: ignore[override]
        super().step(epoch)
        if self.momentum is not None:
            set_momentum(self.optimizer, self.momentum(max(self.last_epoch, 0)))

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule", "momentum")}
        state["schedule"] = self.schedule.to_config()
        state["momentum"] = None if self.momentum is None else self.momentum.to_config()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the step counter and re-apply the exact LR (and momentum) of that step.

        The schedules stored in the checkpoint must equal this scheduler's:
        a mismatch raises ``ValueError`` rather than silently training under
        another schedule.
        """
        state = dict(state_dict)
        for key, mine in (("schedule", self.schedule), ("momentum", self.momentum)):
            saved = state.pop(key, None)
            theirs = None if saved is None else from_config(saved)
            if saved is not None and theirs != mine:
                raise ValueError(f"checkpoint {key} {theirs!r} differs from this scheduler's {mine!r}")
        self.__dict__.update(state)
        factor = self.schedule(max(self.last_epoch, 0))
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            _set(group, "lr", float(base) * factor)
        if self.momentum is not None:
            set_momentum(self.optimizer, self.momentum(max(self.last_epoch, 0)))
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]


class PlateauLR(ReduceLROnPlateau):
    """Reduce-on-plateau for an optimizer, with an optional warmup.

    ``lr_i = base_lrs[i] * warmup(updates) * state.scale``.

    * ``step()`` with no metric: one optimizer update happened (advances the warmup).
    * ``step(metric)``: one evaluation (e.g. validation loss at the end of an epoch).

    With no warmup this matches ``torch.optim.lr_scheduler.ReduceLROnPlateau``
    called with the same metrics. It is a subclass of it (with its own state and
    logic, none inherited), so frameworks that special-case plateau schedulers,
    such as Lightning's ``monitor``, treat it as one.
    """

    def __init__(self, optimizer: Optimizer, plateau: Plateau, warmup: Schedule | None = None) -> None:  # noqa: D107
        # ReduceLROnPlateau.__init__ is deliberately not called: the state lives in self.state.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not isinstance(plateau, Plateau):
            raise TypeError(f"plateau must be an lrlib Plateau, got {type(plateau).__name__}")
        _check_schedule("warmup", warmup, optional=True)
        self.optimizer = optimizer
        self.plateau = plateau
        self.warmup = warmup
        self.base_lrs = [float(g["lr"]) for g in optimizer.param_groups]
        self.state = PlateauState()
        self.updates = 0
        self._apply()

    def _apply(self) -> None:
        w = 1.0 if self.warmup is None else self.warmup(self.updates)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            _set(group, "lr", base * w * self.state.scale)

    def step(self, metric: float | torch.Tensor | None = None, epoch: None = None) -> None:  # type: ignore[override]
        """Advance the warmup (no metric) or evaluate ``metric``; then write the LRs."""
        if metric is None:
            self.updates += 1
        else:
            self.state = self.plateau.update(self.state, metric)
        self._apply()

    @property
    def last_epoch(self) -> int:  # type: ignore[override]
        return self.state.evaluations

    @last_epoch.setter
    def last_epoch(self, value: int) -> None:  # PyTorch internals may assign it; the state is authoritative
        pass

    def get_last_lr(self) -> list[float]:
        return [float(g["lr"]) for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        s = self.state
        return {"base_lrs": list(self.base_lrs), "updates": self.updates,
                "scale": s.scale, "best": s.best, "num_bad": s.num_bad, "cooldown": s.cooldown,
                "evaluations": s.evaluations, "plateau": self.plateau.to_config(),
                "warmup": None if self.warmup is None else self.warmup.to_config()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if Plateau.from_config(state_dict["plateau"]) != self.plateau:
            raise ValueError("checkpoint plateau settings differ from this scheduler's")
        self.base_lrs = [float(b) for b in state_dict["base_lrs"]]
        self.updates = int(state_dict["updates"])
        best = state_dict["best"]
        self.state = PlateauState(float(state_dict["scale"]), None if best is None else float(best),
                                  int(state_dict["num_bad"]), int(state_dict["cooldown"]),
                                  int(state_dict["evaluations"]))
        self._apply()

    def __repr__(self) -> str:
        return f"PlateauLR(plateau={self.plateau!r}, warmup={self.warmup!r}, scale={self.state.scale!r})"

