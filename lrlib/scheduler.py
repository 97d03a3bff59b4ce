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
from ._checks import check_int, check_real, from_config
from .schedules import Schedule

__all__ = ["ScheduledLR", "PlateauLR", "set_momentum"]


def _set(group: dict[str, Any], key: str, value: float) -> None:
    """Write ``value`` into ``group[key]``; tensors are filled in place (no recompiles)."""
    if isinstance(group[key], torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


def set_momentum(optimizer: Optimizer, value: float) -> None:
    """Set SGD/RMSprop ``momentum`` or Adam-style ``betas[0]`` in every param group.

    Args:
        optimizer: any ``torch.optim`` optimizer whose groups have ``momentum`` or ``betas``.
        value: the absolute momentum (or beta1), written in place into tensor entries.

    >>> import torch
    >>> opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    >>> set_momentum(opt, 0.85)
    >>> opt.param_groups[0]["betas"]
    (0.85, 0.999)
    """
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


def _check_momentum(momentum: Schedule | None) -> None:
    """A momentum (or Adam beta1) schedule must stay inside ``[0, 1)``."""
    if momentum is None:
        return
    lo, hi = momentum.bounds()
    if not (0.0 <= lo and hi < 1.0):
        raise ValueError(f"momentum must stay in [0, 1) (momentum >= 1 diverges; Adam divides by "
                         f"1 - beta1), but {momentum!r} spans [{lo!r}, {hi!r}]")


def _check_keys(state: Any, kind: str, keys: set[str]) -> dict[str, Any]:
    """``state`` as a dict with exactly ``keys`` and ``state["lrlib"] == kind``, else ``ValueError``."""
    if not isinstance(state, dict):
        raise ValueError(f"state_dict must be a dict from {kind}.state_dict(), got {type(state).__name__}")
    if state.get("lrlib") != kind:
        raise ValueError(f"state_dict is not a {kind} checkpoint (its keys: {sorted(map(str, state))[:12]}); "
                         f"a checkpoint of another scheduler cannot be loaded into {kind}")
    missing, extra = sorted(keys - set(state)), sorted(set(state) - keys)
    if missing or extra:
        raise ValueError(f"{kind} checkpoint has missing keys {missing} and unexpected keys {extra}")
    return state


def _check_groups(kind: str, base_lrs: Any, optimizer: Optimizer) -> list[float]:
    if not isinstance(base_lrs, (list, tuple)):
        raise ValueError(f"{kind} checkpoint base_lrs must be a list, got {base_lrs!r}")
    if len(base_lrs) != len(optimizer.param_groups):
        raise ValueError(f"{kind} checkpoint has {len(base_lrs)} param groups, this optimizer has "
                         f"{len(optimizer.param_groups)}")
    return [check_real(f"base_lrs[{i}]", b, 0.0, None) for i, b in enumerate(base_lrs)]


def _saved(kind: str, key: str, config: Any) -> Any:
    """Decode a saved schedule config (``None`` stays ``None``)."""
    if config is None:
        return None
    try:
        return from_config(config)
    except ValueError as e:
        raise ValueError(f"{kind} checkpoint {key} is not a valid config: {e}") from None


def _same(kind: str, key: str, theirs: Any, mine: Any) -> None:
    if theirs != mine:
        raise ValueError(f"{kind} checkpoint {key} {theirs!r} differs from this scheduler's {mine!r}; "
                         "pass allow_schedule_change=True to load_state_dict to switch on purpose")


class ScheduledLR(LRScheduler):
    """``lr_i(t) = base_lrs[i] * schedule(t)``, and optionally ``momentum(t)`` for every group.

    Args:
        optimizer: any ``torch.optim`` optimizer; each group's ``lr`` at
            construction becomes its base LR. A group added later with
            ``optimizer.add_param_group`` is followed too: its ``initial_lr``
            (or else its ``lr``) becomes its base LR at the next ``step()``.
        schedule: an lrlib :class:`~lrlib.Schedule`, a factor per step.
        momentum: optional schedule of *absolute* momentum (SGD/RMSprop) or Adam
            ``beta1`` values inside ``[0, 1)``, e.g. :meth:`lrlib.Cyclic.momentum`.
        last_epoch: as in PyTorch; leave at -1 and use :meth:`load_state_dict`
            to resume.

    ``state_dict()`` holds only plain Python values (the schedules as configs),
    so checkpoints load with ``torch.load(weights_only=True)``.

    >>> import torch, lrlib
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> sched = ScheduledLR(opt, lrlib.StepDecay(step_size=2, gamma=0.5))
    >>> for _ in range(4):
    ...     opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.025]
    """

    _KEYS = {"lrlib", "last_epoch", "base_lrs", "schedule", "momentum", "_step_count"}

    def __init__(self, optimizer: Optimizer, schedule: Schedule, momentum: Schedule | None = None,
                 last_epoch: int = -1) -> None:
        _check_schedule("schedule", schedule)
        _check_schedule("momentum", momentum, optional=True)
        _check_momentum(momentum)
        self.schedule = schedule
        self.momentum = momentum
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.schedule(max(self.last_epoch, 0))
        return [base * factor for base in self.base_lrs]

    _get_closed_form_lr = get_lr

    def step(self, epoch: int | None = None) -> None:  # type: ignore[override]
        """Advance one optimizer update (or jump to step ``epoch``) and write the LRs."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
        else:
            self.last_epoch = check_int("epoch", epoch, 0)
        self._apply()

    def _apply(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            self._follow_new_groups()
        t = self.last_epoch if self.last_epoch > 0 else 0
        factor = self.schedule(t)
        last = []
        for group, base in zip(groups, self.base_lrs):
            lr = base * factor
            if type(group["lr"]) is float:  # the common case, kept cheap
                group["lr"] = lr
            else:
                _set(group, "lr", lr)
            last.append(lr)
        self._last_lr = last
        if self.momentum is not None:
            set_momentum(self.optimizer, self.momentum(t))

    def _follow_new_groups(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) < len(self.base_lrs):
            raise ValueError(f"the optimizer has {len(groups)} param groups, fewer than the "
                             f"{len(self.base_lrs)} this scheduler was built for")
        for group in groups[len(self.base_lrs):]:
            base = float(group.setdefault("initial_lr", float(group["lr"])))
            self.base_lrs.append(base)

    def state_dict(self) -> dict[str, Any]:
        return {"lrlib": "ScheduledLR", "last_epoch": self.last_epoch, "base_lrs": [float(b) for b in self.base_lrs],
                "schedule": self.schedule.to_config(),
                "momentum": None if self.momentum is None else self.momentum.to_config(),
                "_step_count": self._step_count}

    def load_state_dict(self, state_dict: dict[str, Any], *, allow_schedule_change: bool = False) -> None:
        """Restore the step counter and base LRs and re-apply the exact LR (and momentum) of that step.

        Everything is checked before anything changes: a checkpoint of another
        scheduler, missing or extra keys, another number of param groups, or a
        saved schedule or momentum schedule that differs from this scheduler's
        raises ``ValueError`` naming the difference. To continue a run under a
        new schedule on purpose (say, a longer cosine), pass
        ``allow_schedule_change=True``: the saved step and base LRs are kept and
        this scheduler's own schedules apply from that step on.
        """
        kind = "ScheduledLR"
        state = _check_keys(state_dict, kind, self._KEYS)
        last_epoch = check_int("last_epoch", state["last_epoch"], -1)
        step_count = check_int("_step_count", state["_step_count"], 0)
        base_lrs = _check_groups(kind, state["base_lrs"], self.optimizer)
        schedule = _saved(kind, "schedule", state["schedule"])
        momentum = _saved(kind, "momentum", state["momentum"])
        if not allow_schedule_change:
            _same(kind, "schedule", schedule, self.schedule)
            _same(kind, "momentum schedule", momentum, self.momentum)
        self.last_epoch, self._step_count, self.base_lrs = last_epoch, step_count, base_lrs
        for group, base in zip(self.optimizer.param_groups, base_lrs):
            group["initial_lr"] = base
        self._apply()


class PlateauLR(ReduceLROnPlateau):
    """Reduce-on-plateau for an optimizer, with an optional warmup.

    ``lr_i = base_lrs[i] * warmup(updates) * state.scale``.

    * ``step()`` with no metric: one optimizer update happened (advances the warmup).
    * ``step(metric)``: one evaluation (e.g. validation loss at the end of an epoch).

    With no warmup this matches ``torch.optim.lr_scheduler.ReduceLROnPlateau``
    called with the same metrics. It is a subclass of it (with its own state and
    logic, none inherited), so frameworks that special-case plateau schedulers,
    such as Lightning's ``monitor``, treat it as one.

    Args:
        optimizer: any ``torch.optim`` optimizer; each group's ``lr`` becomes its
            base LR. A group added later with ``optimizer.add_param_group`` keeps
            the LR it was added with and follows every later cut (as in PyTorch).
        plateau: the :class:`~lrlib.Plateau` settings.
        warmup: optional schedule multiplied in, advanced by ``step()`` calls
            without a metric (e.g. ``lrlib.Linear(0, 1, 500)``).

    >>> import torch, lrlib
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> sched = PlateauLR(opt, lrlib.Plateau(gamma=0.5, patience=0))
    >>> for val_loss in [1.0, 0.8, 0.9]:
    ...     sched.step(val_loss)
    >>> sched.get_last_lr()
    [0.05]
    """

    _KEYS = {"lrlib", "base_lrs", "updates", "scale", "best", "num_bad", "cooldown", "evaluations",
             "plateau", "warmup"}

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

    def _multiplier(self) -> float:
        return (1.0 if self.warmup is None else self.warmup(self.updates)) * self.state.scale

    def _apply(self, force: bool = True) -> None:
        """Write ``base * multiplier`` into every group (only if the multiplier changed, unless ``force``)."""
        m = self._multiplier()
        if not force and m == self._applied:  # nothing changed since the last write
            return
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            self._follow_new_groups()
        self._applied = m
        for group, base in zip(groups, self.base_lrs):
            if type(group["lr"]) is float:  # the common case, kept cheap
                group["lr"] = base * m
            else:
                _set(group, "lr", base * m)

    def _follow_new_groups(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) < len(self.base_lrs):
            raise ValueError(f"the optimizer has {len(groups)} param groups, fewer than the "
                             f"{len(self.base_lrs)} this scheduler was built for")
        m = self._multiplier()
        for group in groups[len(self.base_lrs):]:
            lr = float(group["lr"])
            self.base_lrs.append(lr / m if m > 0 else lr)

    def step(self, metric: float | torch.Tensor | None = None, epoch: None = None) -> None:  # type: ignore[override]
        """Advance the warmup (no metric) or evaluate ``metric``; then write the LRs."""
        new_groups = len(self.optimizer.param_groups) != len(self.base_lrs)
        if new_groups:
            self._follow_new_groups()  # at the multiplier the new group was added under
        if metric is None:
            self.updates += 1
        else:
            self.state = self.plateau.update(self.state, metric)
        self._apply(force=new_groups)

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
        return {"lrlib": "PlateauLR", "base_lrs": list(self.base_lrs), "updates": self.updates,
                "scale": s.scale, "best": s.best, "num_bad": s.num_bad, "cooldown": s.cooldown,
                "evaluations": s.evaluations, "plateau": self.plateau.to_config(),
                "warmup": None if self.warmup is None else self.warmup.to_config()}

    def load_state_dict(self, state_dict: dict[str, Any], *, allow_schedule_change: bool = False) -> None:
        """Restore the plateau state, warmup position and base LRs, checked as in
        :meth:`ScheduledLR.load_state_dict`: a foreign checkpoint, missing or extra
        keys, another number of param groups, or other plateau or warmup settings
        raise ``ValueError`` before anything changes (unless
        ``allow_schedule_change=True``, which keeps this scheduler's settings)."""
        kind = "PlateauLR"
        state = _check_keys(state_dict, kind, self._KEYS)
        base_lrs = _check_groups(kind, state["base_lrs"], self.optimizer)
        plateau = _saved(kind, "plateau", state["plateau"])
        warmup = _saved(kind, "warmup", state["warmup"])
        if not allow_schedule_change:
            _same(kind, "plateau settings", plateau, self.plateau)
            _same(kind, "warmup", warmup, self.warmup)
        best = state["best"]
        new = PlateauState(check_real("scale", state["scale"], 0.0, 1.0),
                           None if best is None else check_real("best", best),
                           check_int("num_bad", state["num_bad"], 0), check_int("cooldown", state["cooldown"], 0),
                           check_int("evaluations", state["evaluations"], 0))
        updates = check_int("updates", state["updates"], 0)
        self.base_lrs, self.updates, self.state = base_lrs, updates, new
        self._apply()

    def __repr__(self) -> str:
        return f"PlateauLR(plateau={self.plateau!r}, warmup={self.warmup!r}, scale={self.state.scale!r})"
