"""Helpers for the book's chapters: one setup call, and ``glue`` that also works outside the book build."""
from __future__ import annotations

import os
from typing import Any

import torch

from .train import Budget, get_budget, pick_device

__all__ = ["setup", "glue", "pct"]


def setup(budget: str | None = None) -> Budget:
    """Pick the budget (``$LRLIB_BUDGET`` or the default for this machine), style the plots,
    print what this run uses, and return the :class:`~lrlib.train.Budget`."""
    import matplotlib

    b = get_budget(budget)
    matplotlib.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
                                "font.size": 10})
    print(f"budget={b.name} ({b.dataset}: {b.n_train} train / {b.n_val} val images, {b.epochs} epochs, "
          f"{b.steps_per_epoch} steps per epoch, seeds {list(b.seeds)}) | device={pick_device()} | "
          f"torch {torch.__version__}")
    return b


def glue(name: str, value: Any) -> Any:
    """``myst_nb.glue(name, value, display=False)`` when myst-nb is installed (the book build);
    otherwise just return ``value`` (plain Jupyter, Colab)."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, value, display=False)
    return value


def pct(x: float) -> float:
    """A fraction as a percentage, for glued numbers."""
    return 100.0 * x


