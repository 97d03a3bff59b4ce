"""lrlib: small, closed-form learning-rate schedules for PyTorch, Keras and JAX.

The schedules, their composition and the reduce-on-plateau state machine import
the standard library only, so ``import lrlib`` needs no framework. The PyTorch
adapters (:class:`ScheduledLR`, :class:`PlateauLR`, :func:`set_momentum`) load
torch the first time one of them is used::

    import torch, lrlib
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, lrlib.Cosine(total_steps=10_000, end=0.01))
    for batch in data:
        ...; opt.step(); sched.step()

The same schedule drives Keras 3 through :class:`lrlib.keras.KerasSchedule` and
optax through :func:`lrlib.optax.schedule`. The book's training harness lives in
submodules that are imported on demand: ``lrlib.data``, ``lrlib.models``,
``lrlib.train``, ``lrlib.plots``.
"""
from importlib.util import find_spec as _find_spec
from typing import TYPE_CHECKING as _TYPE_CHECKING

from .compose import WSD, Cooldown, Join, PiecewiseLinear, Warmup, anytime_cooldown
from .plateau import Plateau, PlateauState
from .schedules import (
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    InverseSqrt,
    InverseTime,
    Linear,
    MultiStep,
    OneCycle,
    OneCycleMomentum,
    Polynomial,
    Schedule,
    StepDecay,
)
from ._checks import from_config

if _TYPE_CHECKING:  # for type checkers and IDEs; at run time they load on first use
    from .scheduler import PlateauLR, ScheduledLR, set_momentum

__version__ = "0.2.0"

_TORCH_ADAPTERS = ("ScheduledLR", "PlateauLR", "set_momentum")

__all__ = [
    "Schedule", "from_config",
    # families
    "Constant", "StepDecay", "MultiStep", "Exponential", "Cosine", "Cyclic", "Linear", "Polynomial",
    "InverseTime", "InverseSqrt", "OneCycle", "OneCycleMomentum", "CosineRestarts",
    # composition
    "Join", "Warmup", "PiecewiseLinear", "Cooldown", "WSD", "anytime_cooldown",
    # metric-driven
    "Plateau", "PlateauState",
    # PyTorch adapters (loaded on first use; listed only where torch is installed)
    *(_TORCH_ADAPTERS if _find_spec("torch") is not None else ()),
]


def __getattr__(name: str):
    """Load the PyTorch adapters on first use (PEP 562): ``import lrlib`` never imports torch."""
    if name in _TORCH_ADAPTERS:
        try:
            from . import scheduler
        except ModuleNotFoundError as e:
            if (e.name or "").split(".")[0] != "torch":
                raise
            raise ModuleNotFoundError(
                f"lrlib.{name} drives a torch.optim optimizer and needs PyTorch, which is not "
                "installed: pip install 'lrlib[torch]' (the schedules themselves need nothing)",
                name="torch") from e
        value = getattr(scheduler, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'lrlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TORCH_ADAPTERS))
