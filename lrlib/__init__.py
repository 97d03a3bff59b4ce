"""lrlib: small, closed-form learning-rate schedules for PyTorch.

The core (this package's top level) imports torch and the standard library only::

    import torch, lrlib
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, lrlib.Cosine(total_steps=10_000, min_factor=0.01))
    for batch in data:
        ...; opt.step(); sched.step()

The book's training harness lives in submodules that are imported on demand:
``lrlib.data``, ``lrlib.models``, ``lrlib.train``, ``lrlib.plots``.
"""
from .plateau import Plateau, PlateauState
from .schedules import (
    Constant,
    Cosine,
    Cyclic,
    Exponential,
    MultiStep,
    Schedule,
    StepDecay,
    from_config,
)
from .scheduler import PlateauLR, ScheduledLR, set_momentum

__version__ = "0.1.0"

__all__ = [
    "Schedule", "Constant", "StepDecay", "MultiStep", "Exponential", "Cosine", "Cyclic",
    "from_config", "Plateau", "PlateauState", "ScheduledLR", "PlateauLR", "set_momentum",
]
