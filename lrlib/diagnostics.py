"""Is my schedule working? Check the LR an optimizer actually holds against the schedule.

The plot of a schedule shows what you meant; the optimizer's ``param_groups`` hold what training
uses. The usual bugs live in between: the scheduler stepped before ``optimizer.step()`` (one step
ahead), a schedule sized in epochs but stepped every batch, a scheduler stepped per micro-batch
under gradient accumulation, a resume that forgets ``scheduler.load_state_dict``. Each one makes
the applied LR differ from ``base_lr * schedule(step)``, where ``step`` counts optimizer updates.

* :func:`check_lr` compares one step, inside any training loop (call it just before
  ``optimizer.step()``), and raises ``ValueError`` naming the group, the expected and the applied LR.
* :class:`LRMonitor` records the LR of every group at every update and checks the whole trace.
* :func:`log_lr` writes the applied LRs to TensorBoard; :func:`read_scalars` reads them back.

Only torch and the standard library are imported here; tensorboard is imported by the two
TensorBoard functions when they are called.

>>> import torch, lrlib
>>> from lrlib.diagnostics import check_lr
>>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
>>> sched = lrlib.ScheduledLR(opt, lrlib.Linear(1.0, 0.0, 10))
>>> for step in range(3):
...     check_lr(opt, sched, step)    # the LR this update will use
...     opt.step(); sched.step()
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import torch
from torch.optim import Optimizer

from .schedules import Schedule
from .scheduler import ScheduledLR

__all__ = ["expected_lrs", "check_lr", "LRMonitor", "log_lr", "read_scalars"]


def _applied(optimizer: Optimizer) -> list[float]:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    return [float(g["lr"]) for g in optimizer.param_groups]


def _resolve(schedule: Any, base_lrs: Sequence[float] | None,
             optimizer: Optimizer | None) -> tuple[Schedule, list[float]]:
    """The schedule and the base LRs to compare against."""
    if isinstance(schedule, ScheduledLR):
        if base_lrs is None:
            base_lrs = schedule.base_lrs
        schedule = schedule.schedule
    elif not isinstance(schedule, Schedule):
        raise TypeError("schedule_or_scheduler must be an lrlib Schedule or a ScheduledLR, got "
                        f"{type(schedule).__name__} (a metric-driven PlateauLR has no LR per step "
                        "to check against)")
    if base_lrs is None:
        groups = [] if optimizer is None else optimizer.param_groups
        if not groups or any("initial_lr" not in g for g in groups):
            raise ValueError("base_lrs is needed with a bare Schedule (the optimizer's groups have "
                             "no 'initial_lr'): pass base_lrs=[...] or the ScheduledLR itself")
        base_lrs = [float(g["initial_lr"]) for g in groups]
    return schedule, [float(b) for b in base_lrs]


def expected_lrs(schedule_or_scheduler: Any, step: int,
                 base_lrs: Sequence[float] | None = None,
                 optimizer: Optimizer | None = None) -> list[float]:
    """``[base_lr * schedule(step) for each group]``: the LRs update ``step`` (from 0) should use.

    ``schedule_or_scheduler`` is an lrlib :class:`~lrlib.Schedule` (then ``base_lrs``, or an
    ``optimizer`` whose groups carry ``initial_lr``, gives the base LRs) or a
    :class:`~lrlib.ScheduledLR` (its schedule and base LRs; its own step counter is ignored:
    ``step`` is yours, the number of optimizer updates done so far).
    """
    schedule, bases = _resolve(schedule_or_scheduler, base_lrs, optimizer)
    factor = schedule(step)
    return [b * factor for b in bases]


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def check_lr(optimizer: Optimizer, schedule_or_scheduler: Any, step: int, *,
             base_lrs: Sequence[float] | None = None, rtol: float = 1e-12,
             atol: float = 0.0) -> None:
    """Raise ``ValueError`` unless every group's LR equals ``base_lr * schedule(step)``.

    Call it just before ``optimizer.step()`` with ``step`` = the number of optimizer updates done
    so far (count them yourself: not batches, not epochs, not the scheduler's own counter). It
    accepts an lrlib Schedule with ``base_lrs`` (or an optimizer already wrapped by a scheduler,
    whose groups hold ``initial_lr``), or a :class:`~lrlib.ScheduledLR`. The message names the
    group, the step, the expected and the applied LR.
    """
    applied = _applied(optimizer)
    want = expected_lrs(schedule_or_scheduler, step, base_lrs, optimizer)
    if len(want) != len(applied):
        raise ValueError(f"the optimizer has {len(applied)} param groups, but {len(want)} base LRs "
                         "were given")
    for i, (w, a) in enumerate(zip(want, applied)):
        if not _close(w, a, rtol, atol):
            ratio = f" ({a / w:.6g} times the schedule's)" if w else ""
            raise ValueError(f"param group {i} at step {step}: the schedule says lr={w!r}, the "
                             f"optimizer applies lr={a!r}{ratio}")


class LRMonitor:
    """Record every group's LR at every update, then check the whole trace.

    >>> import torch, lrlib
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> sched = lrlib.ScheduledLR(opt, lrlib.StepDecay(2, 0.5))
    >>> mon = LRMonitor()
    >>> for _ in range(4):
    ...     mon.record(opt); opt.step(); sched.step()
    >>> mon.lrs
    [[0.1, 0.1, 0.05, 0.05]]
    >>> mon.check(lrlib.StepDecay(2, 0.5), [0.1])
    """

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []

    def record(self, optimizer: Optimizer) -> None:
        """Append the LR each group holds now (call once per update, before ``optimizer.step()``)."""
        applied = _applied(optimizer)
        if not self.lrs:
            self.lrs = [[] for _ in applied]
        if len(applied) != len(self.lrs):
            raise ValueError(f"the optimizer now has {len(applied)} param groups, the monitor "
                             f"recorded {len(self.lrs)}")
        for trace, lr in zip(self.lrs, applied):
            trace.append(lr)

    @property
    def steps(self) -> int:
        """How many updates were recorded."""
        return len(self.lrs[0]) if self.lrs else 0

    def mismatches(self, schedule: Any, base_lrs: Sequence[float] | None = None, *,
                   rtol: float = 1e-12, atol: float = 0.0) -> list[tuple[int, int, float, float]]:
        """Every ``(step, group, expected, applied)`` where the trace differs from the schedule."""
        sched, bases = _resolve(schedule, base_lrs, None)
        if len(bases) != len(self.lrs) and self.lrs:
            raise ValueError(f"{len(bases)} base LRs given, the monitor recorded {len(self.lrs)} "
                             "param groups")
        out = []
        for t in range(self.steps):
            f = sched(t)
            for i, (b, trace) in enumerate(zip(bases, self.lrs)):
                if not _close(b * f, trace[t], rtol, atol):
                    out.append((t, i, b * f, trace[t]))
        return out

    def check(self, schedule: Any, base_lrs: Sequence[float] | None = None, *,
              rtol: float = 1e-12, atol: float = 0.0) -> None:
        """Raise ``ValueError`` at the first step where a recorded LR differs from
        ``base_lr * schedule(step)`` (saying how many steps differ in all)."""
        bad = self.mismatches(schedule, base_lrs, rtol=rtol, atol=atol)
        if bad:
            t, i, w, a = bad[0]
            steps = len({b[0] for b in bad})
            raise ValueError(f"param group {i} at step {t}: the schedule says lr={w!r}, the "
                             f"optimizer applied lr={a!r}; {steps} of {self.steps} steps differ")


def _tags(tag: str, n: int) -> list[str]:
    return [tag] if n == 1 else [f"{tag}/group{i}" for i in range(n)]


def log_lr(writer: Any, optimizer: Optimizer, step: int, tag: str = "lr") -> None:
    """Write each group's LR at ``step`` to a ``torch.utils.tensorboard.SummaryWriter``.

    One group is logged under ``tag``; several under ``f"{tag}/group{i}"``. TensorBoard stores
    scalars as 32-bit floats, so values read back agree to about 1e-7 relative.
    """
    applied = _applied(optimizer)
    for name, lr in zip(_tags(tag, len(applied)), applied):
        writer.add_scalar(name, lr, step)


def read_scalars(logdir: str | os.PathLike[str], tag: str = "lr") -> list[tuple[int, float]]:
    """``[(step, value), ...]`` of scalar ``tag`` in the TensorBoard event files under ``logdir``
    (every event kept, none sampled away), read with tensorboard's ``EventAccumulator``.
    Call ``writer.flush()`` (or ``close()``) first."""
    from tensorboard.backend.event_processing.event_accumulator import (
        SCALARS, EventAccumulator)

    acc = EventAccumulator(os.fspath(logdir), size_guidance={SCALARS: 0})
    acc.Reload()
    if tag not in acc.Tags()[SCALARS]:
        raise ValueError(f"no scalar tag {tag!r} under {os.fspath(logdir)!r}; the tags there: "
                         f"{sorted(acc.Tags()[SCALARS])}")
    return [(int(e.step), float(e.value)) for e in acc.Scalars(tag)]
