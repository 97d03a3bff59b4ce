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
from typing import Any, ClassVar, Sequence

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "MultiStep",
    "Exponential",
    "Cosine",
    "Cyclic",
    "from_config",
]

_REGISTRY: dict[str, type["Schedule"]] = {}


# --------------------------------------------------------------------------- checks
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_real(name: str, value: Any, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``float(value)`` if it is a finite real inside the interval, else raise ``ValueError``."""
    lo_s = "-inf" if lo is None else repr(lo)
    hi_s = "inf" if hi is None else repr(hi)
    allowed = f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number in {allowed}, got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, lo: int = 0) -> int:
    """Return ``value`` if it is an integer ``>= lo``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return value


def check_step(step: Any) -> float:
    """Validate a step given to a schedule: a finite real ``>= 0``."""
    if not _is_number(step) or not math.isfinite(step) or step < 0:
        raise ValueError(f"step must be a finite number >= 0, got {step!r}")
    return step


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


# --------------------------------------------------------------------------- base
@dataclass(frozen=True)
class Schedule:
    """Base class: ``schedule(step) -> factor``.

    Subclasses implement :meth:`value` (the factor at a validated step) and
    :meth:`bounds`. ``monotone`` is ``"decreasing"``, ``"increasing"`` or
    ``None`` and is checked by the property tests.
    """

    monotone: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __call__(self, step: int | float) -> float:
        return self.value(check_step(step))

    def value(self, step: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """``(lo, hi)`` such that ``lo <= self(step) <= hi`` for every step."""
        raise NotImplementedError  # pragma: no cover - abstract

    def to_config(self) -> dict[str, Any]:
        """A JSON-able dict; :func:`from_config` turns it back into an equal schedule."""
        config: dict[str, Any] = {"name": type(self).__name__}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            config[f.name] = list(v) if isinstance(v, tuple) else v
        return config


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_config` output."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"config must be a dict with a 'name' key, got {config!r}")
    name = config["name"]
    if name not in _REGISTRY:
        raise ValueError(f"config['name'] must be one of {sorted(_REGISTRY)}, got {name!r}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    return _REGISTRY[name](**kwargs)


# --------------------------------------------------------------------------- families
@dataclass(frozen=True)
class Constant(Schedule):
    r"""A constant factor: :math:`f(t) = v`. The baseline every chapter compares against."""

    factor: float = 1.0

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
        check_real("decay_rate", self.decay_rate, 0.0, 1.0, lo_open=True)
        check_int("decay_steps", self.decay_steps, 1)
        if not isinstance(self.staircase, bool):
            raise ValueError(f"staircase must be True or False, got {self.staircase!r}")

    def value(self, step: float) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.decay_rate ** p

    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class Cosine(Schedule):
    r"""Cosine annealing from 1 to a floor over ``total_steps``, then flat.

    .. math:: f(t) = m + (1 - m)\,\frac{1 + \cos(\pi \min(t, T) / T)}{2}

    PyTorch: ``CosineAnnealingLR(opt, T_max=T, eta_min=m * base_lr)`` for
    ``t <= T`` (PyTorch keeps oscillating past ``T``; lrlib clips).
    """

    total_steps: int
    min_factor: float = 0.0
    monotone: ClassVar[str | None] = "decreasing"

    def __post_init__(self) -> None:
        check_int("total_steps", self.total_steps, 1)
        check_real("min_factor", self.min_factor, 0.0, 1.0)

    def value(self, step: float) -> float:
        t = min(step, self.total_steps)
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * t / self.total_steps))

    def bounds(self) -> tuple[float, float]:
        return (self.min_factor, 1.0)


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

    def __post_init__(self) -> None:
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
        check_real("max_momentum", max_momentum, 0.0, 1.0)
        if base_momentum > max_momentum:
            raise ValueError(f"base_momentum must be <= max_momentum, got {base_momentum!r} > {max_momentum!r}")
        return dataclasses.replace(self, start=max_momentum, peak=base_momentum)
