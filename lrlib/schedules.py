"""Closed-form learning-rate schedules.

A schedule is a small frozen dataclass that maps an optimizer step (an integer
``>= 0``, counted in optimizer updates, not epochs) to a *factor*. The learning
rate actually used is ``base_lr * schedule(step)``, so one schedule serves every
parameter group, whatever its base learning rate. Most schedules peak at 1.0.

Because the value at any step is computed from the step alone, the only state a
training run has to save is the step counter: resuming is exact.

Every schedule

* validates its parameters at construction and raises ``ValueError`` naming the
  bad parameter and the allowed range;
* clips steps past its end (a cosine that has reached its floor stays there);
* returns a finite float inside :meth:`Schedule.bounds` at every step, however
  large (an integer step is never converted to a float where that could overflow);
* has a readable ``repr``, value equality, pickles, and round-trips through
  :meth:`Schedule.to_config` / :func:`from_config` (plain JSON-able dicts).

Only the standard library is imported here.
"""
from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Sequence

from ._checks import (Configurable, check_bool, check_choice, check_int, check_real, check_step,
                      from_config)

__all__ = [
    "Schedule", "from_config",
    "Constant", "StepDecay", "MultiStep", "Exponential", "InverseTime", "InverseSqrt",
    "Linear", "Polynomial", "Cosine", "CosineRestarts", "Cyclic", "OneCycle", "OneCycleMomentum",
]


# --------------------------------------------------------------------------- helpers
def _power(base: float, exponent: int | float) -> float:
    """``base ** exponent`` for ``0 < base <= 1`` and ``exponent >= 0``, also for integer
    exponents too large for a float (``base ** 1e300`` is already 0.0 or 1.0)."""
    return base ** min(exponent, 1e300)


def _progress(step: int | float, decay_steps: int, staircase: bool) -> float:
    """``step / decay_steps``, floored with ``staircase``; ``inf`` past the float range."""
    try:
        return float(step // decay_steps) if staircase else step / decay_steps
    except OverflowError:  # an integer step beyond 1.8e308 * decay_steps
        return math.inf


def _floor_frac(num: int | float, den: int | float) -> tuple[int, float]:
    """``(floor(num / den), fraction left)``; a quotient within rounding error below an integer
    counts as that integer, so a restart that falls on a step is at that step."""
    try:
        x = num / den
    except OverflowError:  # an integer too large for a float: exact rational arithmetic
        q = Fraction(num) / Fraction(den)
        i = math.floor(q)
        return i, float(q - i)
    i = math.floor(x)
    p = x - i
    if 1.0 - p <= 4 * math.ulp(x):
        return i + 1, 0.0
    return i, p


def _integral(value: int | float) -> int | float:
    """An integral float as an ``int`` (exact integer arithmetic), anything else unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --------------------------------------------------------------------------- base
@dataclass(frozen=True)
class Schedule(Configurable):
    r"""Base class: ``schedule(step) -> factor``.

    Subclasses implement :meth:`value` (the factor at a validated step),
    :meth:`bounds` and ``_check`` (parameter validation). ``monotone`` is
    ``"decreasing"``, ``"increasing"`` or ``None`` and is checked by the
    property tests. Every schedule is :math:`f: \mathbb{N} \to [lo, hi]`.

    Example:
        >>> import lrlib
        >>> s = lrlib.Cosine(100, end=0.1)
        >>> s(0), s(100), s(10**30), s.bounds()
        (1.0, 0.1, 0.1, (0.1, 1.0))
    """

    monotone: ClassVar[str | None] = None

    def __call__(self, step: int | float) -> float:
        """The factor at ``step``.

        Args:
            step: an integer or real ``>= 0`` (numpy and 0-d torch scalars too); any size.

        Raises:
            ValueError: for a negative, non-finite or non-numeric step.
        """
        return self.value(check_step(step))

    def value(self, step: int | float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """``(lo, hi)`` such that ``lo <= self(step) <= hi`` for every step."""
        raise NotImplementedError  # pragma: no cover - abstract


# --------------------------------------------------------------------------- families
@dataclass(frozen=True)
class Constant(Schedule):
    r"""A constant factor, the baseline every chapter compares against.

    .. math:: f(t) = v

    PyTorch: no scheduler (or ``LambdaLR(opt, lambda t: v)``); optax: ``constant_schedule(v)``.

    Args:
        factor: the value :math:`v \ge 0` at every step.

    Example:
        >>> import lrlib
        >>> lrlib.Constant(0.5)(1000)
        0.5
    """

    factor: float = 1.0

    def _check(self) -> None:
        check_real("factor", self.factor, 0.0, None)

    def value(self, step: int | float) -> float:
        return self.factor

    def bounds(self) -> tuple[float, float]:
        return (self.factor, self.factor)


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Multiply by ``gamma`` every ``step_size`` steps.

    .. math:: f(t) = \gamma^{\lfloor t / s \rfloor}

    PyTorch: ``StepLR(opt, step_size=s, gamma=gamma)``; Keras: ``ExponentialDecay(1, s, gamma,
    staircase=True)``; timm: ``StepLRScheduler(decay_t=s, decay_rate=gamma)``.

    Args:
        step_size: steps between two cuts, an integer ``>= 1``.
        gamma: the factor of each cut, in ``(0, 1]``.

    Example:
        >>> import lrlib
        >>> lrlib.StepDecay(10, gamma=0.5)(25)
        0.25
    """

    step_size: int
    gamma: float = 0.1
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_int("step_size", self.step_size, 1)
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True)

    def value(self, step: int | float) -> float:
        return _power(self.gamma, int(step) // self.step_size)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class MultiStep(Schedule):
    r"""Multiply by ``gamma`` at each milestone.

    .. math:: f(t) = \gamma^{\#\{m_i \le t\}}

    PyTorch: ``MultiStepLR(opt, milestones, gamma)``; optax:
    ``piecewise_constant_schedule(1, {m: gamma for m in milestones})``.

    Args:
        milestones: strictly increasing integers ``>= 1``; the cut applies from that step on.
        gamma: the factor of each cut, in ``(0, 1]``.

    Example:
        >>> import lrlib
        >>> [lrlib.MultiStep([5, 10], gamma=0.5)(t) for t in (4, 5, 10)]
        [1.0, 0.5, 0.25]
    """

    milestones: tuple[int, ...]
    gamma: float = 0.1
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        if isinstance(self.milestones, (str, bytes)) or not isinstance(self.milestones, Sequence):
            raise ValueError(f"milestones must be a sequence of integers, got {self.milestones!r}")
        object.__setattr__(self, "milestones", tuple(self.milestones))
        if not self.milestones:
            raise ValueError("milestones must hold at least one step, got ()")
        for i, m in enumerate(self.milestones):
            check_int(f"milestones[{i}]", m, 1)
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])):
            raise ValueError(f"milestones must be strictly increasing, got {self.milestones!r}")
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True)

    def value(self, step: int | float) -> float:
        passed = sum(1 for m in self.milestones if m <= step)
        return self.gamma ** passed

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class Exponential(Schedule):
    r"""Exponential decay.

    .. math:: f(t) = r^{t / s} \quad\text{or, with staircase,}\quad r^{\lfloor t/s \rfloor}

    ``decay_steps=1`` is PyTorch's ``ExponentialLR(gamma=r)``; Keras:
    ``ExponentialDecay(1, s, r, staircase)``; optax: ``exponential_decay(1, s, r, staircase=...)``.

    Args:
        decay_rate: the factor :math:`r` per ``decay_steps`` steps, in ``(0, 1]``.
        decay_steps: the period :math:`s`, an integer ``>= 1``.
        staircase: floor the exponent, so the factor changes every ``decay_steps`` steps only.

    Example:
        >>> import lrlib
        >>> lrlib.Exponential(0.5, decay_steps=10)(20)
        0.25
    """

    decay_rate: float
    decay_steps: int = 1
    staircase: bool = False
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_real("decay_rate", self.decay_rate, 0.0, 1.0, lo_open=True)
        check_int("decay_steps", self.decay_steps, 1)
        check_bool("staircase", self.staircase)

    def value(self, step: int | float) -> float:
        return _power(self.decay_rate, _progress(step, self.decay_steps, self.staircase))

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @property
    def half_life(self) -> float:
        r"""Steps until the (smooth) factor halves: :math:`s \ln 2 / \ln(1/r)` (``inf`` for ``r = 1``)."""
        if self.decay_rate == 1.0:
            return math.inf
        return self.decay_steps * math.log(2) / -math.log(self.decay_rate)

    @classmethod
    def to_final(cls, final: float, total_steps: int, decay_steps: int = 1,
                 staircase: bool = False) -> "Exponential":
        r"""The decay that reaches ``final`` at ``total_steps``: :math:`r = f^{s/T}`.

        Args:
            final: the factor at ``total_steps``, in ``(0, 1]``.
            total_steps: the step at which ``final`` is reached, ``>= 1``.
            decay_steps: the period :math:`s` of the result.
            staircase: whether the result floors its exponent.
        """
        check_real("final", final, 0.0, 1.0, lo_open=True)
        check_int("total_steps", total_steps, 1)
        check_int("decay_steps", decay_steps, 1)
        return cls(final ** (decay_steps / total_steps), decay_steps, staircase)


@dataclass(frozen=True)
class Cosine(Schedule):
    r"""Cosine annealing from 1 to a floor over ``total_steps``, then flat.

    .. math:: f(t) = e + (1 - e)\,\frac{1 + \cos(\pi \min(t, T) / T)}{2}

    PyTorch: ``CosineAnnealingLR(opt, T_max=T, eta_min=e * base_lr)`` for ``t <= T`` (PyTorch
    keeps oscillating past ``T``; lrlib clips); Keras: ``CosineDecay(1, T, alpha=e)``; optax:
    ``cosine_decay_schedule(1, T, alpha=e)``; timm: ``CosineLRScheduler(t_initial=T)``.

    Args:
        total_steps: the horizon :math:`T`, an integer ``>= 1``.
        end: the floor :math:`e` reached at ``total_steps``, in ``[0, 1]``.

    Example:
        >>> import lrlib
        >>> lrlib.Cosine(100, end=0.1)(100)
        0.1
    """

    total_steps: int
    end: float = 0.0
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_real("end", self.end, 0.0, 1.0)

    def value(self, step: int | float) -> float:
        t = min(step, self.total_steps)
        return self.end + (1.0 - self.end) * 0.5 * (1.0 + math.cos(math.pi * t / self.total_steps))

    def bounds(self) -> tuple[float, float]:
        return (self.end, 1.0)


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True)
class Cyclic(Schedule):
    r"""Cyclical schedule (Smith, 2017): triangles between ``start`` and ``peak``.

    With cycle length :math:`L = u + d` (steps up, steps down), cycle index
    :math:`c = \lfloor 1 + t/L \rfloor`, position :math:`x = 1 + t/L - c` and
    height :math:`h = x L / u` while rising, :math:`(1 - x) L / d` while falling:

    .. math:: f(t) = \text{start} + (\text{peak} - \text{start})\, h \, s

    where the amplitude scale :math:`s` is 1 (``triangular``), :math:`2^{1-c}`
    (``triangular2``) or :math:`\gamma^t` (``exp_range``). For a learning rate between
    ``base_lr`` and ``max_lr`` use ``max_lr`` as the optimizer's LR and
    ``start = base_lr / max_lr``. PyTorch: ``CyclicLR(opt, base_lr, max_lr, step_size_up,
    step_size_down, mode, gamma)``. :meth:`momentum` gives the matching momentum cycle.

    Args:
        start: the factor at the bottom of each cycle, ``>= 0``.
        step_size_up: steps from the bottom to the top, ``>= 1``.
        step_size_down: steps from the top back down (default: ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` (halve the amplitude each cycle) or
            ``"exp_range"`` (scale it by ``gamma ** step``).
        gamma: the ``exp_range`` decay per step, in ``(0, 1]``.
        peak: the factor at the top of an unscaled cycle, ``>= 0``.

    Example:
        >>> import lrlib
        >>> [lrlib.Cyclic(0.1, step_size_up=10)(t) for t in (0, 10, 20)]
        [0.1, 1.0, 0.1]
    """

    start: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    peak: float = 1.0

    def _check(self) -> None:
        check_real("start", self.start, 0.0, None)
        check_int("step_size_up", self.step_size_up, 1)
        if self.step_size_down is not None:
            check_int("step_size_down", self.step_size_down, 1)
        check_choice("mode", self.mode, _CYCLIC_MODES)
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True)
        check_real("peak", self.peak, 0.0, None)

    @property
    def cycle_steps(self) -> int:
        """The length of one cycle, ``step_size_up + step_size_down``."""
        down = self.step_size_up if self.step_size_down is None else self.step_size_down
        return self.step_size_up + down

    def height(self, step: int | float) -> float:
        """The scaled position inside the cycle, in ``[0, 1]``: 0 at ``start``, 1 at an unscaled peak.

        Args:
            step: a validated step ``>= 0``.
        """
        total = self.cycle_steps
        if type(step) is int:  # exact for any integer, however large
            done, rest = divmod(step, total)
            x = rest / total
        else:
            done, x = int(step // total), math.fmod(step, total) / total
        ratio = self.step_size_up / total
        h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = _power(0.5, done)
        else:
            scale = _power(self.gamma, step)
        return min(h, 1.0) * scale

    def value(self, step: int | float) -> float:
        return self.start + (self.peak - self.start) * self.height(step)

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.peak), max(self.start, self.peak))

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> "Cyclic":
        """The momentum cycle that mirrors this LR cycle (absolute values, not factors).

        Args:
            base_momentum: the momentum at the LR peak, in ``[0, 1]``.
            max_momentum: the momentum where the LR is lowest, in ``[base_momentum, 1)``.
        """
        check_real("base_momentum", base_momentum, 0.0, 1.0)
        check_real("max_momentum", max_momentum, 0.0, 1.0, hi_open=True)
        if base_momentum > max_momentum:
            raise ValueError(f"base_momentum must be <= max_momentum, "
                             f"got {base_momentum!r} > {max_momentum!r}")
        return dataclasses.replace(self, start=max_momentum, peak=base_momentum)


@dataclass(frozen=True)
class Linear(Schedule):
    r"""A straight line from ``start`` to ``end`` over ``total_steps``, then flat at ``end``.

    .. math:: f(t) = s + (e - s)\,\min(t, T) / T

    ``Linear(1/3, 1, T)`` is PyTorch's ``LinearLR(start_factor=1/3, total_iters=T)``;
    ``Linear(1, 0, T)`` is linear decay to zero; optax: ``linear_schedule(s, e, T)``.

    Args:
        start: the factor :math:`s` at step 0, ``>= 0``.
        end: the factor :math:`e` from ``total_steps`` on, ``>= 0``.
        total_steps: the length :math:`T` of the ramp, ``>= 1``.

    Example:
        >>> import lrlib
        >>> lrlib.Linear(0.0, 1.0, 10)(5)
        0.5
    """

    start: float
    end: float
    total_steps: int

    def _check(self) -> None:
        check_real("start", self.start, 0.0, None)
        check_real("end", self.end, 0.0, None)
        check_int("total_steps", self.total_steps, 1)

    @property
    def monotone(self) -> str | None:  # type: ignore[override]
        return "decreasing" if self.end <= self.start else "increasing"

    def value(self, step: int | float) -> float:
        return self.start + (self.end - self.start) * min(step, self.total_steps) / self.total_steps

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.end), max(self.start, self.end))


@dataclass(frozen=True)
class Polynomial(Schedule):
    r"""Polynomial decay from 1 to ``end`` over ``total_steps``.

    .. math:: f(t) = (1 - e)\,(1 - \min(t, T)/T)^{p} + e

    With ``cycle=True`` (Keras' option) the horizon grows to the next multiple of
    ``T`` instead of clipping: :math:`T' = T \max(1, \lceil t / T \rceil)`, so the factor
    jumps back up after each multiple of ``T``. PyTorch: ``PolynomialLR(total_iters=T,
    power=p)`` (``end=0``); Keras: ``PolynomialDecay(1, T, e, power=p, cycle)``.

    Args:
        total_steps: the horizon :math:`T`, ``>= 1``.
        end: the floor :math:`e`, in ``[0, 1]``.
        power: the exponent :math:`p > 0`.
        cycle: restart the decay after each multiple of ``total_steps``.

    Example:
        >>> import lrlib
        >>> lrlib.Polynomial(100, power=2.0)(50)
        0.25
    """

    total_steps: int
    end: float = 0.0
    power: float = 1.0
    cycle: bool = False

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_real("end", self.end, 0.0, 1.0)
        check_real("power", self.power, 0.0, None, lo_open=True)
        check_bool("cycle", self.cycle)

    @property
    def monotone(self) -> str | None:  # type: ignore[override]
        return None if self.cycle else "decreasing"

    def value(self, step: int | float) -> float:
        horizon = self.total_steps
        if not self.cycle:
            frac = (horizon - min(step, horizon)) / horizon
        elif step == 0:
            frac = 1.0
        else:  # steps left to the next multiple of T, over that multiple: never below 0 or above 1
            left = -step % horizon if type(step) is int else (horizon - math.fmod(step, horizon)) % horizon
            frac = left / (step + left)
        return (1.0 - self.end) * frac ** self.power + self.end

    def bounds(self) -> tuple[float, float]:
        return (self.end, 1.0)


@dataclass(frozen=True)
class InverseTime(Schedule):
    r"""Inverse time decay.

    .. math:: f(t) = \frac{1}{1 + r\, t / s} \quad (\lfloor t/s \rfloor \text{ with staircase})

    Keras: ``InverseTimeDecay(1, s, r, staircase)``.

    Args:
        decay_rate: the rate :math:`r \ge 0`.
        decay_steps: the period :math:`s`, ``>= 1``.
        staircase: floor :math:`t/s`.

    Example:
        >>> import lrlib
        >>> lrlib.InverseTime(0.5, decay_steps=10)(20)
        0.5
    """

    decay_rate: float
    decay_steps: int = 1
    staircase: bool = False
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_real("decay_rate", self.decay_rate, 0.0, None)
        check_int("decay_steps", self.decay_steps, 1)
        check_bool("staircase", self.staircase)

    def value(self, step: int | float) -> float:
        if self.decay_rate == 0.0:
            return 1.0
        return 1.0 / (1.0 + self.decay_rate * _progress(step, self.decay_steps, self.staircase))

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class InverseSqrt(Schedule):
    r"""Inverse square root decay after a linear warmup (the Transformer schedule).

    .. math:: f(t) = \begin{cases} t / w & t < w \\ \sqrt{\tau / (t - w + \tau)} & t \ge w \end{cases}

    with timescale :math:`\tau` (default: ``warmup_steps``, or 10,000 without warmup), as
    HF's ``get_inverse_sqrt_schedule(opt, w, timescale)``. The original Transformer rate
    :math:`d^{-1/2}\min(t^{-1/2}, t\,w^{-3/2})` is this with :math:`\tau = w` and base LR
    :math:`(d\,w)^{-1/2}`.

    Args:
        warmup_steps: the warmup length :math:`w \ge 0`.
        timescale: :math:`\tau \ge 1`, or ``None`` for the default above.

    Example:
        >>> import lrlib
        >>> lrlib.InverseSqrt(warmup_steps=100)(400)
        0.5
    """

    warmup_steps: int = 0
    timescale: int | None = None

    def _check(self) -> None:
        check_int("warmup_steps", self.warmup_steps, 0)
        if self.timescale is not None:
            check_int("timescale", self.timescale, 1)

    @property
    def tau(self) -> int:
        """The timescale in use."""
        return self.timescale if self.timescale is not None else (self.warmup_steps or 10_000)

    def value(self, step: int | float) -> float:
        w = self.warmup_steps
        if step < w:
            return step / w
        return math.sqrt(self.tau / (step - w + self.tau))

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


_ANNEAL = ("cosine", "linear")
_PHASE_ENDS = ("torch", "optax")


def _anneal(kind: str, start: float, end: float, pct: float) -> float:
    if kind == "cosine":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""One-cycle (Smith & Topin): warm up to the peak, then anneal far below the start.

    Factors: start :math:`1/\text{div\_factor}`, peak 1, end
    :math:`1/(\text{div\_factor}\cdot\text{final\_div\_factor})`. Two phases: start to peak
    over the first ``pct_start`` of ``total_steps``, then peak to end. Three phases: start
    to peak, peak back to start (until ``pct_final``), then start to end. Each phase anneals
    with a half cosine (``shape="cosine"``) or a straight line (``"linear"``):

    .. math:: \text{cos}(a, b, p) = b + \tfrac{a-b}{2}(1 + \cos \pi p), \qquad
              \text{linear}(a, b, p) = a + (b - a)p

    ``phase_ends="torch"`` is PyTorch's ``OneCycleLR(max_lr=base_lr, total_steps, pct_start,
    anneal_strategy, div_factor, final_div_factor, three_phase)``: phase :math:`k` ends at step
    :math:`\text{pct}_k T - k`, the last at :math:`T - 1`; steps past it stay at the end value
    (PyTorch raises). ``phase_ends="optax"`` ends them at :math:`\lfloor \text{pct}_k T \rfloor`
    and :math:`T`, as optax's ``cosine_onecycle_schedule`` (two phases) and
    ``linear_onecycle_schedule`` (three, with ``pct_final``). :meth:`momentum` gives the
    matching momentum (or Adam beta1) cycle.

    Args:
        total_steps: the cycle length :math:`T`, ``>= 2``.
        pct_start: the fraction of ``total_steps`` spent rising, in ``(0, 1)``
            (``(0, 0.5)`` for three phases without ``pct_final``).
        shape: ``"cosine"`` or ``"linear"`` (PyTorch's ``anneal_strategy``: ``"cos"`` there).
        div_factor: the peak over the start, ``>= 1``.
        final_div_factor: the start over the end, ``>= 1``.
        three_phase: come back down to the start before the final anneal.
        pct_final: three phases only: where the second phase ends, in ``(pct_start, 1)``;
            ``None`` (default) is ``2 * pct_start``, PyTorch's choice.
        phase_ends: ``"torch"`` (default) or ``"optax"``, the boundary convention above.

    Example:
        >>> import lrlib
        >>> s = lrlib.OneCycle(1000, pct_start=0.25, div_factor=10.0,
        ...                    final_div_factor=10.0)
        >>> round(s(0), 12), s(249), s(999)
        (0.1, 1.0, 0.01)
    """

    total_steps: int
    pct_start: float = 0.3
    shape: str = "cosine"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False
    pct_final: float | None = None
    phase_ends: str = "torch"

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 2)
        check_bool("three_phase", self.three_phase)
        if self.pct_final is not None and not self.three_phase:
            raise ValueError(f"pct_final must be None unless three_phase=True, got {self.pct_final!r}")
        half = self.three_phase and self.pct_final is None
        check_real("pct_start", self.pct_start, 0.0, 0.5 if half else 1.0, lo_open=True, hi_open=True)
        if self.pct_final is not None:
            check_real("pct_final", self.pct_final, self.pct_start, 1.0, lo_open=True, hi_open=True)
        check_choice("shape", self.shape, _ANNEAL)
        check_real("div_factor", self.div_factor, 1.0, None)
        check_real("final_div_factor", self.final_div_factor, 1.0, None)
        check_choice("phase_ends", self.phase_ends, _PHASE_ENDS)
        ends = self._phase_ends()
        if any(b <= a for a, b in zip([0.0] + ends, ends)):
            raise ValueError(f"pct_start={self.pct_start!r} leaves an empty phase for "
                             f"total_steps={self.total_steps} (phase ends {ends})")
        # cached: not fields, so repr, equality and to_config ignore them
        low = 1.0 / self.div_factor
        object.__setattr__(self, "_ends", tuple(ends))
        object.__setattr__(self, "_lr_phases", tuple(self._values(low, 1.0, low / self.final_div_factor)))

    def _phase_ends(self) -> list[float]:
        t, p = self.total_steps, self.pct_start
        pcts = [p, 2 * p if self.pct_final is None else self.pct_final] if self.three_phase else [p]
        if self.phase_ends == "optax":
            return [float(int(q * t)) for q in pcts] + [float(t)]
        return [float(q * t) - k for k, q in enumerate(pcts, 1)] + [t - 1.0]

    def _values(self, low: float, peak: float, end: float) -> list[tuple[float, float]]:
        if self.three_phase:
            return [(low, peak), (peak, low), (low, end)]
        return [(low, peak), (peak, end)]

    def _phase_value(self, step: int | float, values: Sequence[tuple[float, float]]) -> float:
        ends = self._ends
        last = len(ends) - 1
        if step >= ends[last]:
            step, k = ends[last], last
        else:
            k = bisect.bisect_left(ends, step)  # the first phase whose end is >= step
        start = ends[k - 1] if k else 0.0
        a, b = values[k]
        return _anneal(self.shape, a, b, (step - start) / (ends[k] - start))

    def value(self, step: int | float) -> float:
        return self._phase_value(step, self._lr_phases)

    def bounds(self) -> tuple[float, float]:
        return (1.0 / (self.div_factor * self.final_div_factor), 1.0)

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> "OneCycleMomentum":
        """Momentum that falls from ``max_momentum`` to ``base_momentum`` while the LR rises, and back.

        Args:
            base_momentum: the momentum at the LR peak, in ``[0, 1]``.
            max_momentum: the momentum at the LR's start and end, in ``[base_momentum, 1)``.
        """
        return OneCycleMomentum(self, base_momentum, max_momentum)


@dataclass(frozen=True)
class OneCycleMomentum(Schedule):
    r"""The momentum (or Adam beta1) half of :class:`OneCycle`: absolute values, not factors.

    The same phases, progress :math:`p` and annealing as the LR (PyTorch's ``cycle_momentum``):

    .. math:: m(t) = \text{anneal}(a_k, b_k, p), \quad (a_k, b_k) = (m_{\max}, m_{\text{base}}),\;
              (m_{\text{base}}, m_{\max})\,[,\; (m_{\max}, m_{\max}) \text{ with three phases}]

    Args:
        cycle: the :class:`OneCycle` whose phases this follows.
        base_momentum: the momentum at the LR peak, in ``[0, 1]``.
        max_momentum: the momentum at the LR's start and end, in ``[base_momentum, 1)``.

    Example:
        >>> import lrlib
        >>> m = lrlib.OneCycle(1000, pct_start=0.25).momentum(0.85, 0.95)
        >>> m(0), m(249)
        (0.95, 0.85)
    """

    cycle: OneCycle
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def _check(self) -> None:
        if not isinstance(self.cycle, OneCycle):
            raise ValueError(f"cycle must be a OneCycle, got {self.cycle!r}")
        check_real("base_momentum", self.base_momentum, 0.0, 1.0)
        check_real("max_momentum", self.max_momentum, 0.0, 1.0, hi_open=True)
        if self.base_momentum > self.max_momentum:
            raise ValueError(f"base_momentum must be <= max_momentum, "
                             f"got {self.base_momentum!r} > {self.max_momentum!r}")
        lo, hi = self.base_momentum, self.max_momentum
        phases = ((hi, lo), (lo, hi), (hi, hi)) if self.cycle.three_phase else ((hi, lo), (lo, hi))
        object.__setattr__(self, "_phases", phases)  # cached: not a field

    def value(self, step: int | float) -> float:
        return self.cycle._phase_value(step, self._phases)

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)


_DECAY_MODES = ("peak", "amplitude")


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter).

    Cycle :math:`i` (from 0) lasts :math:`T_i = L m^i` steps (``cycle_steps`` :math:`L`,
    ``cycle_mult`` :math:`m`). With a fraction :math:`p` of it done, it anneals from its
    top :math:`P_i` to ``end`` :math:`e`:

    .. math:: f(t) = e + (P_i - e)\,\frac{1 + \cos(\pi p^k)}{2}, \qquad
              P_i = d^i \;(\texttt{"peak"}) \quad\text{or}\quad e + (1 - e)\,d^i \;(\texttt{"amplitude"})

    with ``cycle_decay`` :math:`d` and ``k_decay`` :math:`k`. After ``cycle_limit`` cycles
    it stays at ``end``. PyTorch: ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=e * lr)``;
    timm: ``CosineLRScheduler(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay)``
    (``"peak"``); Keras: ``CosineDecayRestarts(1, L, t_mul, m_mul, alpha)`` (``"amplitude"``);
    HF: ``get_cosine_with_hard_restarts_schedule_with_warmup`` (float ``cycle_steps``).

    Args:
        cycle_steps: the first cycle's length :math:`L \ge 1`; a float is allowed (e.g. a run
            split into cycles that do not divide it); a step within rounding of a restart is on it.
        cycle_mult: the growth :math:`m \ge 1` of each cycle over the last (a float is allowed).
        cycle_decay: :math:`d \in (0, 1]`, how the top shrinks per cycle (see ``cycle_decay_mode``).
        end: the floor :math:`e \in [0, 1]` every cycle anneals to.
        cycle_limit: the number of cycles, after which the factor stays at ``end``;
            ``None`` (default) for no limit.
        cycle_decay_mode: ``"peak"`` (default): cycle :math:`i` peaks at :math:`d^i`, its floor
            stays :math:`e`; ``"amplitude"``: the height above :math:`e` shrinks by :math:`d`
            per cycle, so cycle :math:`i` peaks at :math:`e + (1 - e) d^i`.
        k_decay: :math:`k > 0`; the cosine runs on :math:`p^k` (k-decay, Zhang & Li 2020);
            ``1.0`` (default) is the plain cosine.

    Example:
        >>> import lrlib
        >>> s = lrlib.CosineRestarts(10, cycle_mult=2, cycle_decay=0.5, end=0.1)
        >>> s(0), s(10), s(30)
        (1.0, 0.5, 0.25)
    """

    cycle_steps: int | float
    cycle_mult: int | float = 1
    cycle_decay: float = 1.0
    end: float = 0.0
    cycle_limit: int | None = None
    cycle_decay_mode: str = "peak"
    k_decay: float = 1.0

    def _check(self) -> None:
        check_real("cycle_steps", self.cycle_steps, 1.0, None)
        check_real("cycle_mult", self.cycle_mult, 1.0, None)
        object.__setattr__(self, "cycle_steps", _integral(self.cycle_steps))
        object.__setattr__(self, "cycle_mult", _integral(self.cycle_mult))
        check_real("cycle_decay", self.cycle_decay, 0.0, 1.0, lo_open=True)
        check_real("end", self.end, 0.0, 1.0)
        if self.cycle_limit is not None:
            check_int("cycle_limit", self.cycle_limit, 1)
        check_choice("cycle_decay_mode", self.cycle_decay_mode, _DECAY_MODES)
        check_real("k_decay", self.k_decay, 0.0, None, lo_open=True)

    def position(self, step: int | float) -> tuple[int, float]:
        """``(i, p)``: the cycle that ``step`` falls in (from 0) and the fraction of it done, in ``[0, 1]``.

        Args:
            step: a validated step ``>= 0``. Integer steps with integer ``cycle_steps`` and
                ``cycle_mult`` are placed exactly, however large.
        """
        length, m = self.cycle_steps, self.cycle_mult
        exact = type(step) is int and type(length) is int and type(m) is int
        if m == 1:
            if exact:
                i, rest = divmod(step, length)
                return i, rest / length
            return _floor_frac(step, length)
        if exact:
            # start of cycle i: S_i = L (m^i - 1) / (m - 1); S_i <= t  <=>  m^i <= t (m - 1) // L + 1
            q = step * (m - 1) // length + 1
            i = int(math.log(q, m))
            while i > 0 and m ** i > q:
                i -= 1
            while m ** (i + 1) <= q:
                i += 1
            start = length * (m ** i - 1) // (m - 1)
            return i, (step - start) / (length * m ** i)
        return self._position_float(step)

    def _position_float(self, step: int | float) -> tuple[int, float]:
        m, length = float(self.cycle_mult), float(self.cycle_steps)
        log_m = math.log(m)
        try:
            x = step / length  # steps in units of the first cycle
            u = x * (m - 1) + 1  # m ** (i + p') for the cycle i the step is in
        except OverflowError:
            u = math.inf
        if u >= 2.0 ** 1000:  # beyond the float range of m ** i: work in logs
            log_u = math.log(step) - math.log(length) + math.log(m - 1)
            i = math.floor(log_u / log_m)
            p = (math.exp(log_u - i * log_m) - 1) / (m - 1)
            return i, min(max(p, 0.0), 1.0)
        i = math.floor(math.log(u) / log_m)
        tol = 4 * math.ulp(x)
        for _ in range(4):  # the logarithm may round to the neighbouring cycle
            size = m ** i
            t = x - (size - 1) / (m - 1)
            if t < -tol:
                i -= 1
            elif t >= size - tol:
                i += 1
            else:
                break
        return i, min(max(t / size, 0.0), 1.0)

    def value(self, step: int | float) -> float:
        i, p = self.position(step)
        if self.cycle_limit is not None and i >= self.cycle_limit:
            return self.end
        decay = _power(self.cycle_decay, i)
        top = decay if self.cycle_decay_mode == "peak" else self.end + (1.0 - self.end) * decay
        if self.k_decay != 1.0:
            p = p ** self.k_decay
        return self.end + (top - self.end) * (1.0 + math.cos(math.pi * p)) / 2

    def bounds(self) -> tuple[float, float]:
        if self.cycle_decay == 1.0 or self.cycle_decay_mode == "amplitude":
            return (self.end, 1.0)
        return (0.0, 1.0)
