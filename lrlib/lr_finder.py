"""The learning-rate range test (Smith, 2017): raise the LR step by step, watch the loss.

:func:`find_lr` trains a model for a short while with a learning rate that grows from
``start_lr`` to ``end_lr`` (geometrically or linearly), one batch per step, records the loss at
every step, stops when the loss blows up, and then puts the model and the optimizer back exactly
as they were. The :class:`LRFinderResult` it returns holds the curve and suggests a learning rate
by one of two rules (see :meth:`LRFinderResult.suggest`).

It works with any ``torch.nn.Module``, any ``torch.optim.Optimizer`` and any iterable of
``(input, target)`` batches (a ``DataLoader``, a list of tensor pairs...). Only torch and the
standard library are imported; matplotlib only inside :meth:`LRFinderResult.plot`.

>>> import torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> model = torch.nn.Linear(4, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> x = torch.randn(64, 4); y = x @ torch.ones(4, 1)
>>> res = find_lr(model, opt, [(x, y)], torch.nn.functional.mse_loss, steps=50)
>>> res.stop_reason
'diverged: smoothed loss above 5 times its best'
>>> 0.05 < res.suggest("steepest")[0] < 1.0
True
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any, Callable, Iterator

import torch

__all__ = ["find_lr", "LRFinderResult", "RULES"]

RULES = ("steepest", "valley")
"""The suggestion rules :meth:`LRFinderResult.suggest` knows."""


@dataclass(frozen=True)
class LRFinderResult:
    """The curve of a learning-rate range test, and suggestions read from it.

    Attributes:
        lrs: the LR of the first param group at each step taken.
        losses: the raw training loss of each step's batch (before that step's update).
        smoothed: the exponential moving average of ``losses``:
            ``s[0] = losses[0]``, ``s[i] = smooth * losses[i] + (1 - smooth) * s[i - 1]``.
        val_losses: the validation loss after each step's update, or ``None`` without
            ``val_data``.
        stop_reason: ``"completed"``, or why the test stopped early (divergence).
        steps: the number of steps planned (``len(lrs)`` is smaller if it stopped early).
        mode: ``"exponential"`` or ``"linear"``.
        smooth: the moving-average factor used.
    """

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    val_losses: tuple[float, ...] | None
    stop_reason: str
    steps: int
    mode: str
    smooth: float

    @property
    def diverged(self) -> bool:
        """True when the test stopped because the loss blew up."""
        return self.stop_reason != "completed"

    def _skips(self, skip_start: int | None, skip_end: int | None) -> tuple[int, int]:
        n = len(self.lrs)
        a = max(1, round(0.1 * n)) if skip_start is None else _int("skip_start", skip_start, 0)
        b = max(1, round(0.05 * n)) if skip_end is None else _int("skip_end", skip_end, 0)
        if n - a - b < 3:
            raise ValueError(f"skip_start={a} and skip_end={b} leave fewer than 3 of the {n} points "
                             "of the curve: run more steps or skip fewer points")
        return a, b

    def suggest(self, rule: str = "steepest", *, skip_start: int | None = None,
                skip_end: int | None = None, fraction: float = 2 / 3,
                on: str = "train") -> tuple[float, str]:
        """A learning rate read off the smoothed curve, and a sentence saying how.

        Rules (``x = log(lr)``, ``s`` the smoothed loss; ``on="val"`` uses the validation
        losses, smoothed the same way, instead):

        * ``"steepest"``: the LR where ``ds/dx`` is most negative, with the derivative taken by
          central differences (one-sided at the ends) and the first ``skip_start`` and last
          ``skip_end`` points left out (defaults: 10% and 5% of the points, at least one each,
          i.e. 10 and 5 of 100 like ``torch-lr-finder``): the point where the loss falls fastest.
        * ``"valley"``: the longest run of consecutive points over which ``s`` strictly
          decreases (the first such run if several tie; the skips do not apply), then the
          point of that run whose ``x`` is closest to ``x_first + fraction * (x_last - x_first)``:
          by default two thirds of the way down the valley in log LR, short of its bottom,
          where the loss is still falling but the LR is not yet close to where it stops falling.

        Raises ``ValueError`` naming ``rule``, ``on``, ``fraction``, ``skip_start`` or
        ``skip_end`` when one is invalid or leaves too few points.
        """
        if rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
        if on not in ("train", "val"):
            raise ValueError(f"on must be 'train' or 'val', got {on!r}")
        if on == "val":
            if self.val_losses is None:
                raise ValueError("on='val' needs a test run with val_data")
            s = _ema(self.val_losses, self.smooth)
        else:
            s = list(self.smoothed)
        x = [math.log(lr) for lr in self.lrs]
        n = len(x)
        if rule == "steepest":
            a, b = self._skips(skip_start, skip_end)
            grads = _gradient(s, x)
            idx = min(range(a, n - b), key=lambda i: grads[i])
            return self.lrs[idx], (f"steepest descent of the smoothed {on} loss against log LR "
                                   f"(point {idx + 1} of {n}, skipping the first {a} and last {b})")
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
        if n < 2:
            raise ValueError("the curve has fewer than 2 points: run more steps")
        best = (0, 0)
        i = 0
        while i < n - 1:
            j = i
            while j < n - 1 and s[j + 1] < s[j]:
                j += 1
            if j - i > best[1] - best[0]:
                best = (i, j)
            i = j + 1 if j > i else i + 1
        lo, hi = best
        target = x[lo] + fraction * (x[hi] - x[lo])
        idx = min(range(lo, hi + 1), key=lambda k: abs(x[k] - target))
        return self.lrs[idx], (f"{fraction:.2g} of the way down the longest decreasing run of the "
                               f"smoothed {on} loss in log LR (points {lo + 1} to {hi + 1} of {n}; "
                               f"chose point {idx + 1})")

    def plot(self, ax: Any = None, *, rules: Iterable[str] = RULES, raw: bool = True,
             label: str | None = None, color: Any = None) -> Any:
        """Plot the smoothed loss (and the raw loss, faintly) against the LR, with the
        suggestion of each rule in ``rules`` marked; returns the matplotlib axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 3.6))
        line, = ax.plot(self.lrs, self.smoothed, color=color, label=label or "smoothed loss")
        c = line.get_color()
        if raw:
            ax.plot(self.lrs, self.losses, color=c, alpha=0.25, lw=0.8)
        if self.val_losses is not None:
            ax.plot(self.lrs, self.val_losses, color=c, ls="--", label="validation loss")
        markers = {"steepest": "o", "valley": "s"}
        for rule in rules:
            try:
                lr, _ = self.suggest(rule)
            except ValueError:
                continue
            k = self.lrs.index(lr)
            ax.plot([lr], [self.smoothed[k]], markers.get(rule, "^"), color=c, ms=7,
                    mfc="none", mew=1.5, label=f"{rule}: {lr:.3g}")
        if self.mode == "exponential":
            ax.set_xscale("log")
        finite = [v for v in self.smoothed if math.isfinite(v)]
        if finite:
            bottom = min(finite)
            top = max(finite[: finite.index(bottom) + 1])
            pad = 0.1 * max(top - bottom, 1e-12)
            ax.set_ylim(bottom - pad, top + 3 * pad)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=8)
        return ax


# --------------------------------------------------------------------------- helpers
def _int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return value


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _ema(values: Iterable[float], smooth: float) -> list[float]:
    out: list[float] = []
    for v in values:
        out.append(v if not out else smooth * v + (1 - smooth) * out[-1])
    return out


def _gradient(y: list[float], x: list[float]) -> list[float]:
    """dy/dx by central differences, one-sided at the ends (``numpy.gradient`` order 1)."""
    n = len(y)
    if n < 2:
        return [0.0] * n
    g = [(y[1] - y[0]) / (x[1] - x[0])]
    g += [(y[i + 1] - y[i - 1]) / (x[i + 1] - x[i - 1]) for i in range(1, n - 1)]
    g.append((y[-1] - y[-2]) / (x[-1] - x[-2]))
    return g


def _schedule(start: float, end: float, steps: int, mode: str) -> list[float]:
    if mode == "exponential":
        return [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]
    return [start + (end - start) * i / (steps - 1) for i in range(steps)]


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _split(batch: Any, what: str) -> tuple[Any, Any]:
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(f"{what} must yield (input, target) pairs, got {type(batch).__name__}")


def _is_batch(obj: Any) -> bool:
    return (isinstance(obj, (list, tuple)) and len(obj) == 2
            and all(isinstance(t, torch.Tensor) for t in obj))


class _Cycle:
    """Endless batches from ``data``, starting it again when it runs out."""

    def __init__(self, data: Iterable[Any]) -> None:
        self.data = data
        self.it: Iterator[Any] = iter(data)

    def __next__(self) -> Any:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.data)
            try:
                return next(self.it)
            except StopIteration:
                raise ValueError("data yielded no batches (an empty iterable, or a one-shot "
                                 "iterator that ran out: pass a list or a DataLoader)") from None


# --------------------------------------------------------------------------- the test
def find_lr(model: torch.nn.Module, optimizer: torch.optim.Optimizer, data: Iterable[Any],
            loss_fn: Callable[[Any, Any], torch.Tensor], *, start_lr: float = 1e-7,
            end_lr: float = 10.0, steps: int = 100, mode: str = "exponential",
            smooth: float = 0.05, diverge: float = 5.0, val_data: Any = None,
            device: str | torch.device | None = None) -> LRFinderResult:
    """Run the learning-rate range test and restore ``model`` and ``optimizer`` afterwards.

    Step ``i`` (of ``steps``) sets the first param group's LR to
    ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))`` (``mode="exponential"``) or
    ``start_lr + (end_lr - start_lr) * i / (steps - 1)`` (``"linear"``); every other group gets
    that LR times its own LR's ratio to the first group's (so layer-wise LR ratios survive). It
    then trains on the next batch of ``data`` (cycling through it again when it runs out),
    recording the loss. The test stops early when the loss is not finite or when the smoothed
    loss exceeds ``diverge`` times the lowest smoothed loss so far (that last point is kept).

    Afterwards the model's parameters and buffers, its gradients, its train/eval mode, and the
    optimizer's state (momentum buffers, Adam moments, step counts) and param groups (LRs
    included) are restored exactly, from deep copies, even if the test raised. Random number
    generators are not restored: the test consumes random numbers if the model or data do.

    Args:
        model: any module; trained in train mode, batches sent to ``device``.
        optimizer: any optimizer over (some of) the model's parameters.
        data: an iterable of ``(input, target)`` batches: ``loss_fn(model(input), target)``.
            A one-shot iterator works only if it has at least ``steps`` batches.
        loss_fn: the training loss, returning a scalar tensor.
        start_lr, end_lr: the LR range, ``0 < start_lr < end_lr``.
        steps: planned steps (>= 2), one batch each.
        mode: ``"exponential"`` (even spacing in log LR; the usual choice) or ``"linear"``.
        smooth: the moving-average factor in ``[0, 1)`` (0: no smoothing).
        diverge: stop once the smoothed loss exceeds this multiple (> 1) of its best.
        val_data: optional: a fixed ``(input, target)`` batch, or an iterable of batches, whose
            mean loss (in eval mode, without gradients) is recorded after every step.
        device: where batches go (default: the device of the model's first parameter or buffer).

    Returns:
        an :class:`LRFinderResult`.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(data, Iterable):  # not iter(data): that would draw a DataLoader's shuffle
        raise ValueError(f"data must be an iterable of (input, target) batches, "
                         f"got {type(data).__name__}")
    start_lr, end_lr = _real("start_lr", start_lr), _real("end_lr", end_lr)
    if start_lr <= 0:
        raise ValueError(f"start_lr must be > 0, got {start_lr!r}")
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be > start_lr={start_lr!r}, got {end_lr!r}")
    steps = _int("steps", steps, 2)
    if mode not in ("exponential", "linear"):
        raise ValueError(f"mode must be 'exponential' or 'linear', got {mode!r}")
    smooth = _real("smooth", smooth)
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    diverge = _real("diverge", diverge)
    if diverge <= 1.0:
        raise ValueError(f"diverge must be > 1, got {diverge!r}")
    if val_data is not None and not _is_batch(val_data) and not isinstance(val_data, Iterable):
        raise ValueError("val_data must be an (input, target) batch or an iterable of batches, "
                         f"got {type(val_data).__name__}")
    if device is None:
        first = next(iter(model.parameters()), None)
        if first is None:
            first = next(iter(model.buffers()), None)
        dev = first.device if first is not None else torch.device("cpu")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(f"device must name a torch device, got {device!r}") from None

    groups = optimizer.param_groups
    if not groups:
        raise ValueError("optimizer has no param groups")
    lr0 = float(groups[0]["lr"])
    ratios = [float(g["lr"]) / lr0 if lr0 > 0 else 1.0 for g in groups]

    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    grads = {p: (None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()}
    modes = {m: m.training for m in model.modules()}

    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    val_losses: list[float] | None = [] if val_data is not None else None
    reason = "completed"
    batches = _Cycle(data)
    try:
        model.train()
        best = math.inf
        for lr in _schedule(start_lr, end_lr, steps, mode):
            for g, r in zip(groups, ratios):
                if isinstance(g["lr"], torch.Tensor):
                    g["lr"].fill_(lr * r)
                else:
                    g["lr"] = lr * r
            x, y = _split(_to(next(batches), dev), "data")
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            lrs.append(lr)
            losses.append(value)
            s = value if not smoothed else smooth * value + (1 - smooth) * smoothed[-1]
            smoothed.append(s)
            if val_losses is not None:
                val_losses.append(_val_loss(model, val_data, loss_fn, dev))
            if not math.isfinite(s):
                reason = "diverged: the loss became non-finite"
                break
            best = min(best, s)
            if s > diverge * best:
                reason = f"diverged: smoothed loss above {diverge:g} times its best"
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        for p, g in grads.items():
            p.grad = g
        for m, training in modes.items():
            m.training = training
    return LRFinderResult(tuple(lrs), tuple(losses), tuple(smoothed),
                          None if val_losses is None else tuple(val_losses),
                          reason, steps, mode, smooth)


def _val_loss(model: torch.nn.Module, val_data: Any, loss_fn: Callable[[Any, Any], torch.Tensor],
              dev: torch.device) -> float:
    """Mean loss over ``val_data`` (one batch, or the batch-size-weighted mean over batches)."""
    batches = [val_data] if _is_batch(val_data) else val_data
    was = {m: m.training for m in model.modules()}
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for batch in batches:
                x, y = _split(_to(batch, dev), "val_data")
                n = len(y) if hasattr(y, "__len__") else 1
                total += float(loss_fn(model(x), y)) * n
                count += n
    finally:
        for m, training in was.items():
            m.training = training
    if count == 0:
        raise ValueError("val_data yielded no batches")
    return total / count
