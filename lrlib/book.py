"""Helpers for the book's chapters: one setup call, and ``glue`` that also works outside the book build."""
from __future__ import annotations

import math
import os
from typing import Any, Callable

import torch

from .train import Budget, get_budget, pick_device, resolve_precision, uses_channels_last

__all__ = ["setup", "describe", "data", "model", "noise", "noise_floor", "glue", "pct", "trace", "max_rel_diff"]


def setup(budget: str | None = None) -> Budget:
    """Pick the budget (``$LRLIB_BUDGET`` or the default for this machine), style the plots,
    print what this run uses (budget; device, precision and layout), and return the
    :class:`~lrlib.train.Budget`."""
    import matplotlib

    b = get_budget(budget)
    matplotlib.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
                                "font.size": 10})
    dev = pick_device()
    layout = ", channels_last" if uses_channels_last(dev) else ""
    # short lines: the output sits in the book's ~80-character column
    print(f"budget={b.name}: {b.dataset}, {b.n_train} train / {b.n_val} val images\n"
          f"{b.epochs} epochs of {b.steps_per_epoch} steps; {len(b.lrs)} peak LRs x "
          f"{len(b.sweep_seeds)} sweep seeds, then {len(b.seeds)} seeds\n"
          + (f"label noise: {b.label_noise:.0%} of the training labels wrong\n" if b.label_noise else "") +
          f"device={dev} ({resolve_precision(dev)}{layout}), torch {torch.__version__}")
    return b


_DATA = {"mnist5k": "MNIST digits", "cifar10": "CIFAR-10 images"}
_MODELS = {"mnist5k": "a small two-layer CNN without normalization layers",
           "cifar10": "a speed-run style CNN with batch norm"}


def noise(budget: Budget | None = None) -> str:
    """The budget's label noise in words (``"a fifth of the training labels are wrong"``), or
    ``""`` for clean labels: a phrase for prose that must not assume either."""
    b = get_budget() if budget is None else budget
    if not b.label_noise:
        return ""
    share = {0.1: "a tenth", 0.2: "a fifth", 0.25: "a quarter", 0.5: "half"}.get(
        round(b.label_noise, 6), f"{b.label_noise:.0%}")
    return f"{share} of the training labels are wrong"


def noise_floor(budget: Budget | None = None, num_classes: int = 10) -> float:
    """The training loss, against the budget's noisy labels, of a model that knows every true class
    and nothing about which labels were changed: with a fraction :math:`p` wrong, spread evenly over
    the :math:`C - 1` other classes, the best such model predicts :math:`1 - p` for the true class and
    :math:`p / (C - 1)` for each other one, and scores

    .. math:: -(1 - p)\\ln(1 - p) - p\\ln\\frac{p}{C - 1}.

    A training loss below it means some wrong labels were learned by heart. 0 for clean labels.

    >>> round(noise_floor(get_budget("cpu")), 3)
    0.94
    """
    b = get_budget() if budget is None else budget
    p = b.label_noise
    if not p:
        return 0.0
    return -(1 - p) * math.log(1 - p) - p * math.log(p / (num_classes - 1))


def data(budget: Budget | None = None) -> str:
    """What a budget trains on, in words: ``"4,000 MNIST digits"``, followed by
    ``", a fifth of them labelled with a wrong class"`` when the budget has label noise."""
    b = get_budget() if budget is None else budget
    text = f"{b.n_train:,} {_DATA[b.dataset]}"
    if b.label_noise:
        text += ", " + noise(b).replace(" of the training labels are wrong", " of them labelled with a wrong class")
    return text


def model(budget: Budget | None = None) -> str:
    """The budget's network in words, e.g. ``"a small two-layer CNN without normalization layers"``."""
    b = get_budget() if budget is None else budget
    return _MODELS[b.dataset]


def describe(budget: Budget | None = None) -> str:
    """What a budget trains, in words, for glued prose (never typed: it differs per budget), e.g.
    ``"4,000 MNIST digits (1,000 more, correctly labelled, for validation; a fifth of the training
    labels are wrong), a small two-layer CNN without normalization layers, 8 epochs of 62 updates at
    batch size 64"``."""
    b = get_budget() if budget is None else budget
    val = (f"{b.n_val:,} more, correctly labelled, for validation; {noise(b)}" if b.label_noise
           else f"{b.n_val:,} more for validation")
    return (f"{b.n_train:,} {_DATA[b.dataset]} ({val}), {model(b)}, "
            f"{b.epochs} epoch{'s' if b.epochs != 1 else ''} of {b.steps_per_epoch} updates at batch size "
            f"{b.batch_size}")


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




def trace(make_scheduler: Callable[[torch.optim.Optimizer], Any], steps: int, lr: float = 0.1,
          momentum: float = 0.9, optimizer: str = "sgd") -> dict[str, list[float]]:
    """Drive a throwaway optimizer with ``make_scheduler(opt)`` for ``steps`` updates and return the
    LR and momentum read back before each update: ``{"lr": [...], "momentum": [...]}``.

    For checking lrlib against another library's scheduler in a chapter, with no training:
    ``book.trace(lambda o: torch.optim.lr_scheduler.StepLR(o, 10), 100)``. A ``PlateauLR`` or
    ``ReduceLROnPlateau`` needs metrics and is not traced here.
    """
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = (torch.optim.SGD(p, lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(p, lr=lr, betas=(momentum, 0.999)))
    sched = make_scheduler(opt)
    out: dict[str, list[float]] = {"lr": [], "momentum": []}
    for _ in range(steps):
        g = opt.param_groups[0]
        out["lr"].append(float(g["lr"]))
        out["momentum"].append(float(g["betas"][0] if "betas" in g else g["momentum"]))
        opt.step()
        sched.step()
    return out


def max_rel_diff(a: list[float], b: list[float]) -> float:
    """Largest relative difference between two equal-length sequences (0 where both are 0)."""
    if len(a) != len(b):
        raise ValueError(f"a and b must have the same length, got {len(a)} and {len(b)}")
    return max((abs(x - y) / max(abs(x), abs(y)) for x, y in zip(a, b) if x or y), default=0.0)
