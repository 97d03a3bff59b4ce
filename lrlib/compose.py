"""Building schedules out of schedules: sequences, warmup, piecewise-linear curves,
warmup-stable-decay and cooldowns that can start at any step.

Boundary semantics, the same everywhere: a piece that starts at boundary ``b``
sees the local step ``t - b``; at ``t == b`` exactly the *new* piece is in force
(its step 0). Only the standard library is imported.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import ClassVar, Sequence

from ._checks import check_bool, check_choice, check_int, check_real
from .schedules import Schedule

__all__ = ["Join", "Warmup", "PiecewiseLinear", "Cooldown", "WSD", "anytime_cooldown"]


def _as_tuple(name: str, value: object) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a sequence, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Join(Schedule):
    r"""Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` from its own step 0, ...

    .. math:: f(t) = g_k(t - b_{k}) \quad\text{for } b_{k} \le t < b_{k+1}, \; b_0 = 0

    This is optax's ``join_schedules`` and PyTorch's ``SequentialLR`` with
    ``milestones=boundaries``, minus SequentialLR's double step at a milestone.

    Args:
        schedules: the pieces, at least one lrlib schedule.
        boundaries: strictly increasing integers ``>= 1``, one fewer than ``schedules``: the
            steps at which the next piece starts.

    Example:
        >>> import lrlib
        >>> s = lrlib.Join([lrlib.Constant(0.1), lrlib.Linear(1.0, 0.0, 10)], [5])
        >>> s(4), s(5), s(10)
        (0.1, 1.0, 0.5)
    """

    schedules: tuple[Schedule, ...]
    boundaries: tuple[int, ...]

    def _check(self) -> None:
        object.__setattr__(self, "schedules", _as_tuple("schedules", self.schedules))
        object.__setattr__(self, "boundaries", _as_tuple("boundaries", self.boundaries))
        if not self.schedules:
            raise ValueError("schedules must hold at least one schedule")
        for i, s in enumerate(self.schedules):
            if not isinstance(s, Schedule):
                raise ValueError(f"schedules[{i}] must be an lrlib Schedule, got {s!r}")
        if len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(f"boundaries must hold len(schedules) - 1 = {len(self.schedules) - 1} steps, "
                             f"got {len(self.boundaries)}")
        for i, b in enumerate(self.boundaries):
            check_int(f"boundaries[{i}]", b, 1)
        if any(b <= a for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing, got {self.boundaries!r}")

    def value(self, step: int | float) -> float:
        k = bisect.bisect_right(self.boundaries, step)
        start = self.boundaries[k - 1] if k else 0
        return self.schedules[k](step - start)

    def bounds(self) -> tuple[float, float]:
        b = [s.bounds() for s in self.schedules]
        return (min(lo for lo, _ in b), max(hi for _, hi in b))


@dataclass(frozen=True)
class Warmup(Schedule):
    r"""Ramp up to ``main``'s first value over ``warmup_steps``, then run ``main``.

    .. math:: f(t) = \begin{cases} g(0)\,(s + (1-s)\,t/w) & t < w \text{ (linear)} \\
              g(0)\, s^{1 - t/w} & t < w \text{ (exponential)} \\
              g(t - w) \text{ or, with } \texttt{prefix=False},\; g(t) & t \ge w \end{cases}

    HF's ``get_*_schedule_with_warmup`` and Keras' ``CosineDecay(warmup_target=...)`` are the
    linear form; timm's ``warmup_t``, ``warmup_lr_init`` and ``warmup_prefix`` are ``warmup_steps``,
    ``start`` and ``prefix``.

    Args:
        main: the schedule after the warmup.
        warmup_steps: the ramp's length :math:`w \ge 1`.
        shape: ``"linear"`` (default) or ``"exponential"``.
        start: :math:`s`, the fraction of ``main(0)`` at step 0, in ``[0, 1]``
            (``(0, 1]`` for the exponential ramp).
        prefix: ``True`` (default): ``main`` starts after the warmup, at its own step 0.
            ``False``: the ramp replaces ``main``'s first ``warmup_steps`` steps and ``main``
            keeps counting from step 0 (timm's default ``warmup_prefix=False``).

    Example:
        >>> import lrlib
        >>> s = lrlib.Warmup(lrlib.Cosine(100), 10)
        >>> s(5), s(10)
        (0.5, 1.0)
    """

    main: Schedule
    warmup_steps: int
    shape: str = "linear"
    start: float = 0.0
    prefix: bool = True

    def _check(self) -> None:
        if not isinstance(self.main, Schedule):
            raise ValueError(f"main must be an lrlib Schedule, got {self.main!r}")
        check_int("warmup_steps", self.warmup_steps, 1)
        check_choice("shape", self.shape, ("linear", "exponential"))
        check_real("start", self.start, 0.0, 1.0, lo_open=self.shape == "exponential")
        check_bool("prefix", self.prefix)

    def value(self, step: int | float) -> float:
        if step >= self.warmup_steps:
            return self.main(step - self.warmup_steps if self.prefix else step)
        p = step / self.warmup_steps
        ramp = self.start + (1 - self.start) * p if self.shape == "linear" else self.start ** (1 - p)
        return self.main(0) * ramp

    def bounds(self) -> tuple[float, float]:
        lo, hi = self.main.bounds()
        return (min(lo, 0.0 if self.shape == "linear" else lo * self.start), hi)


@dataclass(frozen=True)
class PiecewiseLinear(Schedule):
    r"""Straight lines through the points ``(xs[i], ys[i])``; flat before the first and after the last.

    .. math:: f(t) = y_k + (y_{k+1} - y_k)\,\frac{t - x_k}{x_{k+1} - x_k} \quad (x_k \le t < x_{k+1})

    Covers triangles (``[0, T/2, T]``, ``[0, 1, 0]``), the CIFAR-10 speed-run schedules and
    optax's ``piecewise_interpolate_schedule("linear", ...)`` (points at 0 and its boundaries).

    Args:
        xs: strictly increasing steps ``>= 0`` (reals allowed).
        ys: the factors at those steps, ``>= 0``, as many as ``xs``.

    Example:
        >>> import lrlib
        >>> lrlib.PiecewiseLinear([0, 10, 30], [0.0, 1.0, 0.0])(20)
        0.5
    """

    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def _check(self) -> None:
        object.__setattr__(self, "xs", _as_tuple("xs", self.xs))
        object.__setattr__(self, "ys", _as_tuple("ys", self.ys))
        if len(self.xs) < 1 or len(self.xs) != len(self.ys):
            raise ValueError(f"xs and ys must have the same length >= 1, "
                             f"got {len(self.xs)} and {len(self.ys)}")
        for i, x in enumerate(self.xs):
            check_real(f"xs[{i}]", x, 0.0, None)
        for i, y in enumerate(self.ys):
            check_real(f"ys[{i}]", y, 0.0, None)
        if any(b <= a for a, b in zip(self.xs, self.xs[1:])):
            raise ValueError(f"xs must be strictly increasing, got {self.xs!r}")

    def value(self, step: int | float) -> float:
        xs, ys = self.xs, self.ys
        if step <= xs[0]:
            return float(ys[0])
        if step >= xs[-1]:
            return float(ys[-1])
        k = bisect.bisect_right(xs, step)
        x0, x1, y0, y1 = xs[k - 1], xs[k], ys[k - 1], ys[k]
        return y0 + (y1 - y0) * (step - x0) / (x1 - x0)

    def bounds(self) -> tuple[float, float]:
        return (float(min(self.ys)), float(max(self.ys)))


_SHAPES = ("linear", "cosine", "1-sqrt")


def _decay_shape(shape: str, p: float) -> float:
    """The cooldown curve at progress ``p`` in ``[0, 1]``: from 1 down to 0."""
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return (1.0 + math.cos(math.pi * p)) / 2
    return 1.0 - math.sqrt(p)


@dataclass(frozen=True)
class Cooldown(Schedule):
    r"""Decay from ``start`` to ``end`` over ``total_steps`` with a given shape, then flat.

    With :math:`p = \min(t, n)/n` (:math:`n` = ``total_steps``): ``linear`` :math:`1 - p`,
    ``cosine`` :math:`(1+\cos \pi p)/2`, ``1-sqrt`` :math:`1 - \sqrt{p}`; the factor is

    .. math:: f(t) = e + (s - e)\cdot\text{shape}(p)

    Args:
        total_steps: the cooldown length :math:`n \ge 1`.
        shape: ``"linear"`` (default), ``"cosine"`` or ``"1-sqrt"``.
        start: the factor :math:`s \ge 0` at step 0.
        end: the factor :math:`e \in [0, s]` from ``total_steps`` on.

    Example:
        >>> import lrlib
        >>> lrlib.Cooldown(100, "1-sqrt", start=1.0, end=0.0)(25)
        0.5
    """

    total_steps: int
    shape: str = "linear"
    start: float = 1.0
    end: float = 0.0
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_choice("shape", self.shape, _SHAPES)
        check_real("start", self.start, 0.0, None)
        check_real("end", self.end, 0.0, self.start)

    def value(self, step: int | float) -> float:
        p = min(step, self.total_steps) / self.total_steps
        return self.end + (self.start - self.end) * _decay_shape(self.shape, p)

    def bounds(self) -> tuple[float, float]:
        return (self.end, self.start)


@dataclass(frozen=True)
class WSD(Schedule):
    r"""Warmup-stable-decay: a linear warmup to 1, a long flat stretch, and a cooldown to ``end``.

    .. math:: f(t) = \begin{cases} s + (1 - s)\, t / w & t < w \\ 1 & w \le t < T - n \\
              e + (1 - e)\,\text{shape}\big(\min(t - T + n, n) / n\big) & t \ge T - n \end{cases}

    with the shapes of :class:`Cooldown`. HF: ``get_wsd_schedule(opt, w, n, T,
    decay_type=shape, min_lr_ratio=r)`` is ``WSD(T, n, w, shape, end=r, start=r)``; timm:
    ``WSDLRScheduler(t_initial=T - w, decay_t=n, lr_min=e * lr, decay_fn=shape, warmup_t=w,
    warmup_lr_init=s * lr)``. To cool down from an arbitrary step of a run that was meant to
    go on, see :func:`anytime_cooldown`.

    Args:
        total_steps: the run's length :math:`T \ge 1`, warmup and cooldown included.
        cooldown_steps: the cooldown length :math:`n \ge 1` at the end of ``total_steps``.
        warmup_steps: the warmup length :math:`w \ge 0`; ``w + n <= T``.
        shape: the cooldown's curve: ``"1-sqrt"`` (default), ``"linear"`` or ``"cosine"``.
        end: the factor :math:`e \in [0, 1]` at and after ``total_steps``.
        start: the factor :math:`s \in [0, 1]` at step 0 of the warmup (default 0).

    Example:
        >>> import lrlib
        >>> s = lrlib.WSD(100, cooldown_steps=20, warmup_steps=10)
        >>> s(5), s(50), s(100)
        (0.5, 1.0, 0.0)
    """

    total_steps: int
    cooldown_steps: int
    warmup_steps: int = 0
    shape: str = "1-sqrt"
    end: float = 0.0
    start: float = 0.0

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_int("cooldown_steps", self.cooldown_steps, 1)
        check_choice("shape", self.shape, _SHAPES)
        check_real("end", self.end, 0.0, 1.0)
        check_real("start", self.start, 0.0, 1.0)
        if self.warmup_steps + self.cooldown_steps > self.total_steps:
            raise ValueError(f"warmup_steps + cooldown_steps must be <= total_steps={self.total_steps}, "
                             f"got {self.warmup_steps} + {self.cooldown_steps}")

    def value(self, step: int | float) -> float:
        w, n = self.warmup_steps, self.cooldown_steps
        if step < w:
            return self.start + (1.0 - self.start) * (step / w)
        into = step - (self.total_steps - n)
        if into < 0:
            return 1.0
        return self.end + (1.0 - self.end) * _decay_shape(self.shape, min(into, n) / n)

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.end) if self.warmup_steps else self.end, 1.0)


def anytime_cooldown(schedule: Schedule, at: int, cooldown_steps: int, shape: str = "1-sqrt",
                     end: float = 0.0) -> Join:
    r"""``schedule`` until step ``at``, then a cooldown from its value there to ``end``.

    .. math:: f(t) = \begin{cases} g(t) & t < a \\ \text{Cooldown}(n, \text{shape}, g(a), e)(t - a)
              & t \ge a \end{cases}

    Lets a run trained with a constant or WSD-style schedule produce a finished model at any
    step: branch a copy at ``at`` and train it under the returned schedule.

    Args:
        schedule: the lrlib schedule the run was trained with.
        at: the step ``>= 1`` where the cooldown starts.
        cooldown_steps: the cooldown length :math:`n \ge 1`.
        shape: ``"1-sqrt"`` (default), ``"linear"`` or ``"cosine"``.
        end: the final factor, in ``[0, schedule(at)]``: a cooldown never raises the LR.

    Returns:
        A :class:`Join` of ``schedule`` and a :class:`Cooldown`.

    Example:
        >>> import lrlib
        >>> s = lrlib.anytime_cooldown(lrlib.Constant(0.5), at=100,
        ...                          cooldown_steps=50, shape="linear")
        >>> s(99), s(125), s(150)
        (0.5, 0.25, 0.0)
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an lrlib Schedule, got {schedule!r}")
    at = check_int("at", at, 1)
    start = schedule(at)
    end = check_real("end", end, 0.0, start)
    return Join((schedule, Cooldown(cooldown_steps, shape, start, end)), (at,))
