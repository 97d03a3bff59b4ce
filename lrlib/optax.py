"""JAX/optax adapter: any lrlib schedule as an optax schedule, usable inside ``jax.jit``.

::

    import optax, lrlib
    import lrlib.optax

    lr = lrlib.optax.schedule(lrlib.Warmup(lrlib.Cosine(9_500), 500), peak_lr=0.1,
                              total_steps=10_000)
    opt = optax.sgd(lr, momentum=0.9)    # or optax.adamw(lr, ...), ...

optax calls a schedule with its update count, a traced integer inside ``jit``, so
the schedule cannot run lrlib's Python at each step. Instead lrlib computes
``peak_lr * schedule(t)`` for ``t = 0 .. total_steps`` once, in float64, and the
returned callable indexes that table with the count, clipped to
``[0, total_steps]``: steps past the end get the value at ``total_steps``. The
table is a jax array of jax's default float type when :func:`schedule` is called
(float32, or float64 with ``jax_enable_x64``).

This module imports ``jax.numpy``; ``import lrlib`` does not import it.
"""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from ._checks import check_int, check_real
from .schedules import Schedule

__all__ = ["schedule", "OptaxSchedule"]


class OptaxSchedule:
    """The callable :func:`schedule` returns: ``count -> peak_lr * schedule(min(count, total_steps))``.

    Attributes:
        schedule: the lrlib schedule.
        peak_lr: the learning rate the factor multiplies.
        total_steps: the last step the table holds.
        values: the table, a jax array of ``total_steps + 1`` learning rates.
    """

    def __init__(self, schedule: Schedule, peak_lr: float, total_steps: int) -> None:
        self.schedule = schedule
        self.peak_lr = peak_lr
        self.total_steps = total_steps
        self.values = jnp.asarray([peak_lr * schedule(t) for t in range(total_steps + 1)])

    def __call__(self, count: Any) -> Any:
        """The learning rate at ``count`` (an int, or an integer array, traced or not)."""
        return self.values[jnp.clip(count, 0, self.total_steps)]

    def __repr__(self) -> str:
        return (f"lrlib.optax.schedule({self.schedule!r}, peak_lr={self.peak_lr!r}, "
                f"total_steps={self.total_steps!r})")


def schedule(schedule: Schedule, peak_lr: float = 1.0, total_steps: int | None = None) -> OptaxSchedule:
    """An optax schedule (``count -> learning rate``) that follows ``peak_lr * schedule(count)``.

    Args:
        schedule: an lrlib :class:`~lrlib.Schedule`.
        peak_lr: the learning rate the factor multiplies, a real ``>= 0``.
        total_steps: the last step the value table holds; later counts get its value.
            Default: the schedule's own ``total_steps`` field when it has one and is
            flat after it (``Cosine``, ``Linear``, ``OneCycle``, ``Cooldown``, ``WSD``,
            ...); any other schedule (``Exponential``, ``Warmup``, ``Join``, a cycling
            ``Polynomial``, ...) needs it passed.

    Returns:
        An :class:`OptaxSchedule`: call it with the update count, inside ``jit`` or not.

    >>> import jax.numpy as jnp, lrlib
    >>> lr = schedule(lrlib.Cosine(100, end=0.1), peak_lr=0.5)
    >>> lr.total_steps, [round(float(lr(t)), 6) for t in (0, 50, 100, 10**6)]
    (100, [0.5, 0.275, 0.05, 0.05])
    >>> float(schedule(lrlib.Exponential(0.5, 10), 1.0, total_steps=30)(jnp.int32(20)))
    0.25
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an lrlib Schedule, got {type(schedule).__name__}")
    peak_lr = check_real("peak_lr", peak_lr, 0.0, None)
    if total_steps is None:
        total_steps = _own_end(schedule)
    total_steps = check_int("total_steps", total_steps, 0)
    return OptaxSchedule(schedule, peak_lr, total_steps)


def _own_end(schedule: Schedule) -> int:
    """The schedule's ``total_steps`` field, if the schedule is flat from there on."""
    end = getattr(schedule, "total_steps", None)
    if isinstance(end, int) and not isinstance(end, bool):
        last = schedule(end)
        if all(schedule(t) == last for t in (end + 1, 2 * end + 1, 3 * end + 2, 10 * end + 7, 10**12)):
            return end
    raise ValueError(f"total_steps is needed for {schedule!r}: the value table has to cover the "
                     "training run (later steps get the value at total_steps), and this schedule "
                     "does not end at a total_steps of its own")
