"""Reduce-on-plateau as a pure state machine.

:class:`Plateau` holds the settings; :meth:`Plateau.update` takes a
:class:`PlateauState` and a metric and returns the next state. Nothing here
touches an optimizer: :class:`lrlib.PlateauLR` applies ``state.scale`` to the
optimizer's base learning rates. Only the standard library is imported.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .schedules import check_choice, check_int, check_real

__all__ = ["Plateau", "PlateauState"]


@dataclass(frozen=True)
class PlateauState:
    """Everything reduce-on-plateau remembers between evaluations.

    ``scale`` is the factor applied to every base LR (1.0 until the first cut);
    ``best`` the best metric so far; ``num_bad`` evaluations since the last
    improvement; ``cooldown`` evaluations left in which bad ones are not counted;
    ``evaluations`` the number of metrics seen.
    """

    scale: float = 1.0
    best: float | None = None
    num_bad: int = 0
    cooldown: int = 0
    evaluations: int = 0


@dataclass(frozen=True)
class Plateau:
    r"""Cut the learning rate by ``factor`` when a metric stops improving.

    A metric :math:`a` improves on the best :math:`b` when (``mode="min"``)
    :math:`a < b(1-\theta)` (``threshold_mode="rel"``) or :math:`a < b-\theta`
    (``"abs"``); mirrored for ``mode="max"``. After more than ``patience``
    evaluations without improvement the scale becomes
    :math:`\max(s \cdot \text{factor}, \text{min\_scale})`, and the next
    ``cooldown`` evaluations do not count as bad.

    Non-finite metrics follow ``nan_policy``: ``"bad"`` counts NaN as an
    evaluation without improvement (what PyTorch does implicitly), ``"ignore"``
    leaves the state unchanged, ``"raise"`` raises ``ValueError``.

    PyTorch: ``ReduceLROnPlateau(opt, mode, factor, patience, threshold,
    threshold_mode, cooldown, min_lr=min_scale * base_lr)``. Differences:
    ``min_scale`` is relative to each group's base LR, and ``eps`` compares
    scales rather than absolute learning rates.
    """

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_scale: float = 0.0
    eps: float = 1e-8
    nan_policy: str = "bad"

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, ("min", "max"))
        check_real("factor", self.factor, 0.0, 1.0, lo_open=True, hi_open=True)
        check_int("patience", self.patience, 0)
        check_real("threshold", self.threshold, 0.0, None)
        check_choice("threshold_mode", self.threshold_mode, ("rel", "abs"))
        check_int("cooldown", self.cooldown, 0)
        check_real("min_scale", self.min_scale, 0.0, 1.0)
        check_real("eps", self.eps, 0.0, None)
        check_choice("nan_policy", self.nan_policy, ("bad", "ignore", "raise"))

    def to_config(self) -> dict[str, Any]:
        return {"name": "Plateau", **dataclasses.asdict(self)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Plateau":
        kwargs = {k: v for k, v in config.items() if k != "name"}
        return cls(**kwargs)

    def is_better(self, a: float, best: float | None) -> bool:
        if best is None:  # nothing seen yet: compare with the worst possible value
            best = math.inf if self.mode == "min" else -math.inf
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def update(self, state: PlateauState, metric: float) -> PlateauState:
        """The state after observing ``metric`` (a float or 0-d tensor)."""
        try:
            a = float(metric)
        except (TypeError, ValueError):
            raise ValueError(f"metric must be a real number, got {metric!r}") from None
        if math.isnan(a):
            if self.nan_policy == "raise":
                raise ValueError("metric is NaN (nan_policy='raise')")
            if self.nan_policy == "ignore":
                return state
        best, num_bad = state.best, state.num_bad
        if self.is_better(a, best):
            best, num_bad = a, 0
        else:
            num_bad += 1
        cooldown = state.cooldown
        if cooldown > 0:
            cooldown -= 1
            num_bad = 0
        scale = state.scale
        if num_bad > self.patience:
            new_scale = max(scale * self.factor, self.min_scale)
            if scale - new_scale > self.eps:
                scale = new_scale
            cooldown, num_bad = self.cooldown, 0
        return PlateauState(scale, best, num_bad, cooldown, state.evaluations + 1)
