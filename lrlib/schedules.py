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
* has a readable ``repr``, value equality, pickles, and round-trips through
  :meth:`Schedule.to_config` / :func:`from_config` (plain JSON-able dicts);
* declares :meth:`Schedule.bounds`, the interval its values stay inside.

Only the standard library is imported here.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, Sequence

from ._checks import (Configurable, check_bool, check_choice, check_int, check_real, check_step,
                      from_config)

__all__ = [
    "Schedule", "from_config",
    "Constant", "StepDecay", "MultiStep", "Exponential", "InverseTime", "InverseSqrt",
    "Linear", "Polynomial", "Cosine", "CosineRestarts", "Cyclic", "OneCycle", "OneCycleMomentum",
]

# --------------------------------------------------------------------------- base
@dataclass(frozen=True)
class Schedule(Configurable):
    """Base class: ``schedule(step) -> factor``.

    Subclasses implement :meth:`value` (the factor at a validated step),
    :meth:`bounds` and ``_check`` (parameter validation). ``monotone`` is
    ``"decreasing"``, ``"increasing"`` or ``None`` and is checked by the
    property tests.
    """

    monotone: ClassVar[str | None] = None

    def __call__(self, step: int | float) -> float:
        return self.value(check_step(step))

    def value(self, step: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """``(lo, hi)`` such that ``lo <= self(step) <= hi`` for every step."""
        raise NotImplementedError  # pragma: no cover - abstract


def _progress(step: float, decay_steps: int, staircase: bool) -> float:
    """``step / decay_steps``, floored with ``staircase``: the exponent of the decay families."""
    p = step / decay_steps
    return math.floor(p) if staircase else p


# --------------------------------------------------------------------------- families
@dataclass(frozen=True)
class Constant(Schedule):
    r"""A constant factor: :math:`f(t) = v`. The baseline every chapter compares against.

    PyTorch: no scheduler (or ``LambdaLR(opt, lambda t: v)``); optax: ``constant_schedule(v)``.
    """

    factor: float = 1.0

    def _check(self) -> None:
        check_real("factor", self.factor, 0.0, None)

    def value(self, step: float) -> float:
        return self.factor

    def bounds(self) -> tuple[float, float]:
        return (self.factor, self.factor)


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Multiply by ``gamma`` every ``step_size`` steps.

    .. math:: f(t) = \gamma^{\lfloor t / s \rfloor}

    PyTorch: ``StepLR(opt, step_size=s, gamma=gamma)``.
    """

    step_size: int
    gamma: float = 0.1
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_int("step_size", self.step_size, 1)
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True)

    def value(self, step: float) -> float:
        return self.gamma ** (int(step) // self.step_size)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class MultiStep(Schedule):
    r"""Multiply by ``gamma`` at each milestone.

    .. math:: f(t) = \gamma^{\#\{m_i \le t\}}

    Milestones must be strictly increasing positive integers. PyTorch:
    ``MultiStepLR(opt, milestones, gamma)``.
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

    def value(self, step: float) -> float:
        passed = sum(1 for m in self.milestones if m <= step)
        return self.gamma ** passed

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class Exponential(Schedule):
    r"""Exponential decay.

    .. math:: f(t) = r^{t / s} \quad\text{or, with staircase,}\quad r^{\lfloor t/s \rfloor}

    ``decay_steps=1`` is PyTorch's ``ExponentialLR(gamma=r)``. With
    ``decay_steps=10_000, decay_rate=0.96, staircase=True`` it is Keras'
    ``ExponentialDecay`` as commonly configured.
    """

    decay_rate: float
    decay_steps: int = 1
    staircase: bool = False
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_real("decay_rate", self.decay_rate, 0.0, 1.0, lo_open=True)
        check_int("decay_steps", self.decay_steps, 1)
        check_bool("staircase", self.staircase)

    def value(self, step: float) -> float:
        return self.decay_rate ** _progress(step, self.decay_steps, self.staircase)

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @property
    def half_life(self) -> float:
        r"""Steps until the (smooth) factor halves: :math:`s \ln 2 / \ln(1/r)` (``inf`` for ``r = 1``)."""
        return math.inf if self.decay_rate == 1.0 else self.decay_steps * math.log(2) / -math.log(self.decay_rate)

    @classmethod
    def to_final(cls, final: float, total_steps: int, decay_steps: int = 1, staircase: bool = False) -> "Exponential":
        r"""The decay that reaches ``final`` (a factor) at ``total_steps``: :math:`r = f^{s/T}`."""
        check_real("final", final, 0.0, 1.0, lo_open=True)
        check_int("total_steps", total_steps, 1)
        check_int("decay_steps", decay_steps, 1)
        return cls(final ** (decay_steps / total_steps), decay_steps, staircase)


@dataclass(frozen=True)
class Cosine(Schedule):
    r"""Cosine annealing from 1 to a floor over ``total_steps``, then flat.

    .. math:: f(t) = e + (1 - e)\,\frac{1 + \cos(\pi \min(t, T) / T)}{2}

    PyTorch: ``CosineAnnealingLR(opt, T_max=T, eta_min=e * base_lr)`` for
    ``t <= T`` (PyTorch keeps oscillating past ``T``; lrlib clips).
    """

    total_steps: int
    end: float = 0.0
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_real("end", self.end, 0.0, 1.0)

    def value(self, step: float) -> float:
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
    (``triangular2``) or :math:`\gamma^t` (``exp_range``).

    For a learning rate between ``base_lr`` and ``max_lr`` use ``max_lr`` as the
    optimizer's LR and ``start = base_lr / max_lr``. PyTorch:
    ``CyclicLR(opt, base_lr, max_lr, step_size_up, step_size_down, mode, gamma)``.
    :meth:`momentum` gives the matching inverse momentum cycle.
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
        return self.step_size_up + (self.step_size_up if self.step_size_down is None else self.step_size_down)

    def height(self, step: float) -> float:
        """The scaled position inside the cycle, in ``[0, 1]``: 0 at ``start``, 1 at an unscaled peak."""
        total = self.cycle_steps
        ratio = self.step_size_up / total
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 0.5 ** (cycle - 1)
        else:
            scale = self.gamma ** step
        return h * scale

    def value(self, step: float) -> float:
        return self.start + (self.peak - self.start) * self.height(step)

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.peak), max(self.start, self.peak))

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> "Cyclic":
        """The momentum cycle that mirrors this LR cycle: ``max_momentum`` when the LR is
        lowest, ``base_momentum`` at the LR peak (absolute values, not factors)."""
        check_real("base_momentum", base_momentum, 0.0, 1.0)
        check_real("max_momentum", max_momentum, 0.0, 1.0, hi_open=True)
        if base_momentum > max_momentum:
            raise ValueError(f"base_momentum must be <= max_momentum, got {base_momentum!r} > {max_momentum!r}")
        return dataclasses.replace(self, start=max_momentum, peak=base_momentum)


@dataclass(frozen=True)
class Linear(Schedule):
    r"""A straight line from ``start`` to ``end`` over ``total_steps``, then flat at ``end``.

    .. math:: f(t) = s + (e - s)\,\min(t, T) / T

    ``Linear(1/3, 1, T)`` is PyTorch's ``LinearLR(start_factor=1/3, total_iters=T)``;
    ``Linear(1, 0, T)`` is linear decay to zero (HF ``get_linear_schedule_with_warmup``
    without the warmup); ``Linear(0, 1, T)`` is a linear warmup.
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

    def value(self, step: float) -> float:
        return self.start + (self.end - self.start) * min(step, self.total_steps) / self.total_steps

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.end), max(self.start, self.end))


@dataclass(frozen=True)
class Polynomial(Schedule):
    r"""Polynomial decay from 1 to ``end`` over ``total_steps``.

    .. math:: f(t) = (1 - e)\,(1 - \min(t, T)/T)^{p} + e

    With ``cycle=True`` (Keras' option) the horizon grows to the next multiple of
    ``T`` instead of clipping: :math:`T' = T \lceil t / T \rceil`, so the factor
    jumps back up at each multiple of ``T``. PyTorch: ``PolynomialLR(total_iters=T,
    power=p)`` (``end=0``); Keras: ``PolynomialDecay(1, T, e, power=p, cycle)``.
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

    def value(self, step: float) -> float:
        horizon = float(self.total_steps)
        if self.cycle:
            horizon *= max(1.0, math.ceil(step / self.total_steps))
        else:
            step = min(step, horizon)
        return (1.0 - self.end) * (1.0 - step / horizon) ** self.power + self.end

    def bounds(self) -> tuple[float, float]:
        return (self.end, 1.0)


@dataclass(frozen=True)
class InverseTime(Schedule):
    r"""Inverse time decay (Keras ``InverseTimeDecay``).

    .. math:: f(t) = \frac{1}{1 + r\, t / s} \quad (\lfloor t/s \rfloor \text{ with staircase})
    """

    decay_rate: float
    decay_steps: int = 1
    staircase: bool = False
    monotone: ClassVar[str | None] = "decreasing"

    def _check(self) -> None:
        check_real("decay_rate", self.decay_rate, 0.0, None)
        check_int("decay_steps", self.decay_steps, 1)
        check_bool("staircase", self.staircase)

    def value(self, step: float) -> float:
        return 1.0 / (1.0 + self.decay_rate * _progress(step, self.decay_steps, self.staircase))

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class InverseSqrt(Schedule):
    r"""Inverse square root decay after a linear warmup (the Transformer schedule; HF ``inverse_sqrt``).

    .. math:: f(t) = \begin{cases} t / w & t < w \\ \sqrt{\tau / (t - w + \tau)} & t \ge w \end{cases}

    with timescale :math:`\tau` (default: ``warmup_steps``, or 10,000 without warmup),
    matching ``transformers.get_inverse_sqrt_schedule(opt, w, timescale)``. The
    original Transformer rate :math:`d^{-1/2}\min(t^{-1/2}, t\,w^{-3/2})` is this with
    :math:`\tau = w` and base LR :math:`(d\,w)^{-1/2}`.
    """

    warmup_steps: int = 0
    timescale: int | None = None

    def _check(self) -> None:
        check_int("warmup_steps", self.warmup_steps, 0)
        if self.timescale is not None:
            check_int("timescale", self.timescale, 1)

    @property
    def tau(self) -> int:
        return self.timescale if self.timescale is not None else (self.warmup_steps or 10_000)

    def value(self, step: float) -> float:
        w = self.warmup_steps
        if step < w:
            return step / w
        return math.sqrt(self.tau / (step - w + self.tau))

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


_ANNEAL = ("cosine", "linear")


def _anneal(kind: str, start: float, end: float, pct: float) -> float:
    if kind == "cosine":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""One-cycle (Smith & Topin): warm up to the peak, then anneal far below the start.

    Factors: start :math:`1/\text{div\_factor}`, peak 1, end
    :math:`1/(\text{div\_factor}\cdot\text{final\_div\_factor})`. Two phases: start
    to peak over the first ``pct_start`` of ``total_steps``, then peak to end. Three
    phases: start to peak, peak back to start (same length), then start to end.
    Each phase anneals with a half cosine (``shape="cosine"``) or a straight line (``"linear"``):

    .. math:: \text{cos}(a, b, p) = b + \tfrac{a-b}{2}(1 + \cos \pi p), \qquad
              \text{linear}(a, b, p) = a + (b - a)p

    Identical to PyTorch's ``OneCycleLR(max_lr=base_lr, total_steps, pct_start,
    anneal_strategy, div_factor, final_div_factor, three_phase)`` (``shape`` is its
    ``anneal_strategy``: ``"cos"`` there, ``"cosine"`` here), except that steps
    past ``total_steps - 1`` stay at the end value instead of raising.
    :meth:`momentum` gives the matching momentum (or Adam beta1) cycle.
    """

    total_steps: int
    pct_start: float = 0.3
    shape: str = "cosine"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def _check(self) -> None:
        check_int("total_steps", self.total_steps, 2)
        check_real("pct_start", self.pct_start, 0.0, 0.5 if self.three_phase else 1.0, lo_open=True, hi_open=True)
        check_choice("shape", self.shape, _ANNEAL)
        check_real("div_factor", self.div_factor, 1.0, None)
        check_real("final_div_factor", self.final_div_factor, 1.0, None)
        check_bool("three_phase", self.three_phase)
        ends = self._phase_ends()
        if any(b <= a for a, b in zip([0.0] + ends, ends)):
            raise ValueError(f"pct_start={self.pct_start!r} leaves an empty phase for total_steps={self.total_steps}")
        # cached: not a field, so repr, equality and to_config ignore it
        low = 1.0 / self.div_factor
        object.__setattr__(self, "_ends", tuple(ends))
        object.__setattr__(self, "_lr_phases", tuple(self._values(low, 1.0, low / self.final_div_factor)))

    def _phase_ends(self) -> list[float]:
        t, p = self.total_steps, self.pct_start
        if self.three_phase:
            return [p * t - 1, 2 * p * t - 2, t - 1.0]
        return [p * t - 1, t - 1.0]

    def _values(self, low: float, peak: float, end: float) -> list[tuple[float, float]]:
        if self.three_phase:
            return [(low, peak), (peak, low), (low, end)]
        return [(low, peak), (peak, end)]

    def _phase_value(self, step: float, values: Sequence[tuple[float, float]]) -> float:
        step = min(step, self.total_steps - 1.0)
        start_step = 0.0
        ends = self._ends
        for i, (end_step, (a, b)) in enumerate(zip(ends, values)):
            if step <= end_step or i == len(ends) - 1:
                return _anneal(self.shape, a, b, (step - start_step) / (end_step - start_step))
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover

    def value(self, step: float) -> float:
        return self._phase_value(step, self._lr_phases)

    def bounds(self) -> tuple[float, float]:
        return (1.0 / (self.div_factor * self.final_div_factor), 1.0)

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> "OneCycleMomentum":
        """Momentum that falls from ``max_momentum`` to ``base_momentum`` while the LR rises, and back."""
        return OneCycleMomentum(self, base_momentum, max_momentum)


@dataclass(frozen=True)
class OneCycleMomentum(Schedule):
    r"""The momentum (or Adam beta1) half of :class:`OneCycle`: absolute values, not factors.

    The same phases and annealing as the LR, between :math:`m_{\max}` and :math:`m_{\text{base}}`:
    two phases: ``max -> base`` then ``base -> max``; three phases: ``max -> base``,
    ``base -> max``, then flat at ``max`` (PyTorch's ``cycle_momentum``).
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
            raise ValueError(f"base_momentum must be <= max_momentum, got {self.base_momentum!r} > {self.max_momentum!r}")

    def value(self, step: float) -> float:
        lo, hi = self.base_momentum, self.max_momentum
        vals = [(hi, lo), (lo, hi), (hi, hi)] if self.cycle.three_phase else [(hi, lo), (lo, hi)]
        return self.cycle._phase_value(step, vals)

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter).

    Cycle :math:`i` lasts :math:`T_i = T_0 m^i` steps (``cycle_steps`` :math:`T_0`,
    ``cycle_mult`` :math:`m`); inside it, with :math:`t_i` steps done and peak
    :math:`d^i` (``cycle_decay`` :math:`d`), it anneals to ``end`` :math:`e`:

    .. math:: f(t) = e + (d^{i} - e)\,\frac{1 + \cos(\pi t_i / T_i)}{2}

    PyTorch: ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=e * base_lr)``
    (``cycle_decay=1``); timm's ``CosineLRScheduler(cycle_mul, cycle_decay)`` adds the decay.
    """

    cycle_steps: int
    cycle_mult: int = 1
    cycle_decay: float = 1.0
    end: float = 0.0

    def _check(self) -> None:
        check_int("cycle_steps", self.cycle_steps, 1)
        check_int("cycle_mult", self.cycle_mult, 1)
        check_real("cycle_decay", self.cycle_decay, 0.0, 1.0, lo_open=True)
        check_real("end", self.end, 0.0, 1.0)

    def cycle(self, step: float) -> tuple[int, float, float]:
        """``(i, t_i, T_i)``: the cycle index, steps into it, and its length."""
        if self.cycle_mult == 1:
            i = int(step // self.cycle_steps)
            return i, step - i * self.cycle_steps, float(self.cycle_steps)
        m = self.cycle_mult
        i = int(math.log(step / self.cycle_steps * (m - 1) + 1, m))
        start = self.cycle_steps * (m ** i - 1) / (m - 1)
        if step < start:  # guard against log rounding just below a power of m
            i -= 1
            start = self.cycle_steps * (m ** i - 1) / (m - 1)
        elif step >= start + self.cycle_steps * m ** i:
            i += 1
            start = self.cycle_steps * (m ** i - 1) / (m - 1)
        return i, step - start, float(self.cycle_steps * m ** i)

    def value(self, step: float) -> float:
        i, t_i, T_i = self.cycle(step)
        peak = self.cycle_decay ** i
        return self.end + (peak - self.end) * (1 + math.cos(math.pi * t_i / T_i)) / 2

    def bounds(self) -> tuple[float, float]:
        return (self.end if self.cycle_decay == 1.0 else 0.0, 1.0)
