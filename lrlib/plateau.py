"""Reduce-on-plateau as a pure state machine.

:class:`Plateau` holds the settings; :meth:`Plateau.update` takes a
:class:`PlateauState` and a metric and returns the next state. Nothing here
touches an optimizer: :class:`lrlib.PlateauLR` applies ``state.scale`` to the
optimizer's base learning rates. Only the standard library is imported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple
from ._checks import Configurable, check_choice, check_int, check_real

__all__ = ["Plateau", "PlateauState"]


class PlateauState(NamedTuple):
    """Everything reduce-on-plateau remembers between evaluations.

    ``scale`` is the factor applied to every base LR (1.0 until the first cut);
    ``best`` the best metric so far; ``num_bad`` evaluations since the last
    improvement; ``cooldown`` evaluations left in which bad ones are not counted;
    ``evaluations`` the number of metrics seen. A named tuple: immutable, cheap
    to build once per evaluation.

    Args:
        scale: the current factor on every base LR.
        best: the best metric so far (``None`` before the first).
        num_bad: evaluations since the last improvement.
        cooldown: evaluations left during which bad ones are not counted.
        evaluations: metrics seen.

    >>> Plateau(patience=0).update(PlateauState(), 0.5)
    PlateauState(scale=1.0, best=0.5, num_bad=0, cooldown=0, evaluations=1)
    """

    scale: float = 1.0
    best: float | None = None
    num_bad: int = 0
    cooldown: int = 0
    evaluations: int = 0


@dataclass(frozen=True)
class Plateau(Configurable):
    r"""Cut the learning rate by ``gamma`` when a metric stops improving.

    A metric :math:`a` improves on the best :math:`b` when (``mode="min"``)
    :math:`a < b(1-\theta)` (``threshold_mode="rel"``) or :math:`a < b-\theta`
    (``"abs"``); mirrored for ``mode="max"``. After more than ``patience``
    evaluations without improvement the scale becomes
    :math:`\max(s \cdot \gamma, \text{min\_factor})`, and the next
    ``cooldown`` evaluations do not count as bad.

    Args:
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        gamma: the cut, a ratio in ``(0, 1)``; PyTorch calls it ``factor``.
        patience: evaluations without improvement tolerated before a cut.
        threshold: how much better counts as an improvement.
        threshold_mode: ``"rel"`` (a fraction of the best) or ``"abs"``.
        cooldown: evaluations after a cut during which bad ones are not counted.
        min_factor: the lowest scale, relative to each group's base LR.
        eps: a cut smaller than this (in scale) is skipped.
        nan_policy: what a non-finite metric (NaN, +inf or -inf) does:
            ``"bad"`` counts it as an evaluation without improvement (what
            PyTorch does for NaN), ``"ignore"`` leaves the state unchanged,
            ``"raise"`` raises ``ValueError``.

    PyTorch: ``ReduceLROnPlateau(opt, mode, factor=gamma, patience, threshold,
    threshold_mode, cooldown, min_lr=min_factor * base_lr)``. Differences:
    ``min_factor`` is relative to each group's base LR, ``eps`` compares
    scales rather than absolute learning rates, and ``-inf`` never becomes
    the best value.

    >>> p = Plateau(gamma=0.5, patience=0)
    >>> state = PlateauState()
    >>> for loss in [1.0, 0.9, 0.95]:
    ...     state = p.update(state, loss)
    >>> state.scale
    0.5
    """

    mode: str = "min"
    gamma: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_factor: float = 0.0
    eps: float = 1e-8
    nan_policy: str = "bad"

    def _check(self) -> None:
        check_choice("mode", self.mode, ("min", "max"))
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True, hi_open=True)
        check_int("patience", self.patience, 0)
        check_real("threshold", self.threshold, 0.0, None)
        check_choice("threshold_mode", self.threshold_mode, ("rel", "abs"))
        check_int("cooldown", self.cooldown, 0)
        check_real("min_factor", self.min_factor, 0.0, 1.0)
        check_real("eps", self.eps, 0.0, None)
        check_choice("nan_policy", self.nan_policy, ("bad", "ignore", "raise"))

    def is_better(self, a: float, best: float | None) -> bool:
        if best is None:  # nothing seen yet: compare with the worst possible value
            best = math.inf if self.mode == "min" else -math.inf
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def update(self, state: PlateauState, metric: float) -> PlateauState:
        """The state after observing ``metric`` (a real number, numpy scalar or 0-d tensor)."""
        a = metric if type(metric) is float else _metric(metric)
        if not math.isfinite(a):
            if self.nan_policy == "raise":
                raise ValueError(f"metric is not finite ({a!r}) and nan_policy='raise'")
            if self.nan_policy == "ignore":
                return state
            # "bad": an evaluation without improvement, whatever its sign
            return self._after(state, state.best, state.num_bad + 1)
        if self.is_better(a, state.best):
            return self._after(state, a, 0)
        return self._after(state, state.best, state.num_bad + 1)

    def _after(self, state: PlateauState, best: float | None, num_bad: int) -> PlateauState:
        cooldown = state.cooldown
        if cooldown > 0:
            cooldown -= 1
            num_bad = 0
        scale = state.scale
        if num_bad > self.patience:
            new_scale = max(scale * self.gamma, self.min_factor)
            if scale - new_scale > self.eps:
                scale = new_scale
            cooldown, num_bad = self.cooldown, 0
        # tuple.__new__ skips NamedTuple's argument parsing: this runs once per evaluation
        return tuple.__new__(PlateauState, (scale, best, num_bad, cooldown, state.evaluations + 1))


def _metric(metric: object) -> float:
    """A metric as a float; strings, bools and non-scalars are refused."""
    if isinstance(metric, (str, bytes, bool)) or "bool" in str(getattr(metric, "dtype", "")):
        raise ValueError(f"metric must be a real number, got {metric!r}")
    if hasattr(metric, "numel") and metric.numel() != 1:  # type: ignore[union-attr]
        raise ValueError(f"metric must be a single number, got a tensor of shape {tuple(metric.shape)}")  # type: ignore[attr-defined]
    try:
        return float(metric)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"metric must be a real number, got {metric!r}") from None
