"""Keras 3 adapter: any lrlib schedule as a ``keras.optimizers.schedules.LearningRateSchedule``.

::

    import keras, lrlib
    from lrlib.keras import KerasSchedule

    lr = KerasSchedule(lrlib.Warmup(lrlib.Cosine(9_500), 500), peak_lr=0.1,
                       total_steps=10_000)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9), ...)

The optimizer calls the schedule with its step counter (``optimizer.iterations``,
a tensor) before every update and applies ``peak_lr * schedule(step)``.

Two ways to get from that tensor to a value, chosen by ``total_steps``:

* **a value table** (``total_steps`` given): lrlib computes ``peak_lr * schedule(t)``
  for ``t = 0 .. total_steps`` once, and every call is one ``keras.ops.take`` into
  it, with steps past ``total_steps`` clipped to the last entry. Pure tensor code
  with no host round trip, so it also works where the training step is compiled
  (tested on the torch backend and inside the JAX backend's ``jit``).
* **the Python step** (``total_steps=None``): the step is read back as a Python
  ``int`` and the schedule evaluated exactly at it, however far training goes.
  This needs an eager training step (Keras on the torch backend, as the book
  uses it); a compiled one raises ``ValueError`` asking for ``total_steps``.

The class is registered with ``keras.saving.register_keras_serializable`` (as
``"lrlib>KerasSchedule"``) and its ``get_config()`` holds the schedule's
``to_config()``, so a model saved to a ``.keras`` file reloads with its
schedule, once ``lrlib.keras`` has been imported.

This module imports Keras (and numpy, which Keras depends on); ``import lrlib``
does not import it.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ._checks import check_int, check_real, from_config
from .schedules import Schedule

__all__ = ["KerasSchedule"]


@keras.saving.register_keras_serializable(package="lrlib")
class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``learning_rate(step) = peak_lr * schedule(step)`` for any Keras 3 optimizer.

    Args:
        schedule: an lrlib :class:`~lrlib.Schedule` (a factor per optimizer update).
        peak_lr: the learning rate the factor multiplies (the optimizer's base LR),
            a real ``>= 0``.
        total_steps: the number of updates a value table covers (``None``: no table,
            evaluate at the Python step). With a table, steps past ``total_steps``
            get the value at ``total_steps``: exactly the schedule's own for one
            that ends by then (``Cosine(total_steps)``, ``OneCycle``, ``WSD``, ...).
            Needed when Keras compiles the training step (the JAX and TensorFlow
            backends, ``jit_compile=True``).

    The values are those of lrlib in float64, rounded once to Keras' ``floatx``
    (float32 unless changed), identical on every backend.

    >>> import keras, lrlib
    >>> lr = KerasSchedule(lrlib.StepDecay(10, gamma=0.5), peak_lr=0.1,
    ...                    total_steps=30)
    >>> [round(float(lr(t)), 6) for t in (0, 10, 25, 10**6)]
    [0.1, 0.05, 0.025, 0.0125]
    >>> KerasSchedule.from_config(lr.get_config()).schedule
    StepDecay(step_size=10, gamma=0.5)
    """

    def __init__(self, schedule: Schedule, peak_lr: float = 1.0, total_steps: int | None = None) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be an lrlib Schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.peak_lr = check_real("peak_lr", peak_lr, 0.0, None)
        self.total_steps = None if total_steps is None else check_int("total_steps", total_steps, 0)
        self._values: np.ndarray | None = None
        if self.total_steps is not None:  # lrlib's float64 values, computed once
            self._values = np.array([self.peak_lr * schedule(t) for t in range(self.total_steps + 1)],
                                    dtype=np.float64)
        self._tables: dict[str, Any] = {}  # floatx -> backend tensor of the table

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (a scalar integer tensor, a variable or an ``int``)."""
        dtype = keras.config.floatx()
        if self._values is None:
            return keras.ops.convert_to_tensor(self.peak_lr * self.schedule(_python_step(step)), dtype=dtype)
        index = keras.ops.clip(step, 0, self.total_steps)  # clip first: a cast cannot overflow
        return keras.ops.take(self._table(dtype), keras.ops.cast(index, "int32"))

    def _table(self, dtype: str) -> Any:
        table = self._tables.get(dtype)
        if table is None:
            table = keras.ops.convert_to_tensor(self._values, dtype=dtype)
            # a TensorFlow tensor made inside one tf.function graph cannot be reused in another
            if keras.config.backend() != "tensorflow":
                self._tables[dtype] = table
        return table

    def get_config(self) -> dict[str, Any]:
        """Plain JSON: the schedule as its ``to_config()``, the peak LR and ``total_steps``."""
        return {"schedule": self.schedule.to_config(), "peak_lr": self.peak_lr, "total_steps": self.total_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "KerasSchedule":
        """Rebuild from :meth:`get_config` (what ``keras.saving.load_model`` calls)."""
        config = dict(config)
        schedule = config.pop("schedule")
        return cls(from_config(schedule) if isinstance(schedule, dict) else schedule, **config)

    def __repr__(self) -> str:
        return f"KerasSchedule({self.schedule!r}, peak_lr={self.peak_lr!r}, total_steps={self.total_steps!r})"


def _python_step(step: Any) -> int:
    """``step`` as a Python ``int``; a symbolic (traced) step raises ``ValueError``."""
    if isinstance(step, int):
        return step
    try:  # int(), not ops.convert_to_numpy: that warns on torch tensors with numpy 2
        return int(step)
    except Exception as e:  # a tracer or graph tensor: each backend raises its own type
        raise ValueError(
            "KerasSchedule(total_steps=None) reads the step as a Python int, but this step is "
            f"symbolic ({type(step).__name__}: the training step is compiled). Pass total_steps=... "
            "so that the schedule is evaluated from a value table inside the compiled step.") from e
