"""lrlib: small, closed-form learning-rate schedules for PyTorch.

The core (this package's top level) imports torch and the standard library only::

    import torch, lrlib
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, lrlib.Cosine(total_steps=10_000, end=0.01))
    for batch in data:
        ...; opt.step(); sched.step()

The book's training harness lives in submodules that are imported on demand:
``lrlib.data``, ``lrlib.models``, ``lrlib.train``, ``lrlib.plots``.
"""
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
from .scheduler import PlateauLR, ScheduledLR, set_momentum

__version__ = "0.2.0"

__all__ = [
    "Schedule", "from_config",
    # families
    "Constant", "StepDecay", "MultiStep", "Exponential", "Cosine", "Cyclic", "Linear", "Polynomial",
    "InverseTime", "InverseSqrt", "OneCycle", "OneCycleMomentum", "CosineRestarts",
    # composition
    "Join", "Warmup", "PiecewiseLinear", "Cooldown", "WSD", "anytime_cooldown",
    # metric-driven
    "Plateau", "PlateauState",
    # PyTorch adapters
    "ScheduledLR", "PlateauLR", "set_momentum",
]
