"""Plots for the book: schedules on their own, and the results of a grid of runs.

Result plots take either ``{name: [History, ...]}`` (what :func:`lrlib.train.run_grid` returns) or
the DataFrame of :func:`lrlib.runner.run` (one line per ``name``). matplotlib is imported here,
never by the core.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt

from .schedules import Schedule
from .train import History

__all__ = ["plot_schedules", "plot_results", "plot_lr_vs_loss", "plot_sweep"]


# the baseline is drawn in near-black in every figure, so no schedule's colour can be mistaken for it
_BASELINE_COLOR = (0.2, 0.2, 0.2)
_NAME_COLORS: dict[str, Any] = {"constant": _BASELINE_COLOR}


def _as_results(results: Any) -> Mapping[str, list[History]]:
    """``{name: [History, ...]}`` from itself or from a :func:`lrlib.runner.run` DataFrame."""
    if hasattr(results, "columns") and "history" in getattr(results, "columns", ()):
        from .runner import histories

        return histories(results)
    if not isinstance(results, Mapping):
        raise ValueError("results must be {name: [History, ...]} or a DataFrame from lrlib.runner.run, "
                         f"got {type(results).__name__}")
    return results


def _colors(names: Sequence[str]) -> dict[str, Any]:
    """One colour per name for the whole session, so a schedule keeps its colour from figure to figure."""
    # tab10, then the darker Dark2 set, without their greys (kept for the baseline): 16 colours
    palette = [c for c in list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("Dark2").colors)
               if len(set(c)) > 1]
    for n in names:
        if n not in _NAME_COLORS:
            _NAME_COLORS[n] = palette[(len(_NAME_COLORS) - 1) % len(palette)]
    return {n: _NAME_COLORS[n] for n in names}


def plot_schedules(schedules: Mapping[str, Schedule], steps: int, base_lr: float = 1.0, ax: Any = None,
                   title: str | None = None, log: bool = False, steps_per_epoch: int | None = None) -> Any:
    """Draw ``base_lr * schedule(t)`` for ``t`` in ``[0, steps)``; no optimizer needed.

    With ``steps_per_epoch`` the x axis is in epochs.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    colors = _colors(list(schedules))
    for name, s in schedules.items():
        ts = range(steps)
        xs = [t / steps_per_epoch for t in ts] if steps_per_epoch else list(ts)
        ax.plot(xs, [base_lr * s(t) for t in ts], label=name, lw=1.6, color=colors[name])
    ax.set_xlabel("epoch" if steps_per_epoch else "optimizer step")
    ax.set_ylabel("learning rate" if base_lr != 1.0 else "LR factor")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def _band(ax: Any, xs: Sequence[float], runs: Sequence[Sequence[float]], color: Any, label: str) -> None:
    n = min(len(r) for r in runs)
    if n == 0:
        return
    cols = [[r[i] for r in runs] for i in range(n)]
    mean = [sum(c) / len(c) for c in cols]
    ax.plot(xs[:n], mean, color=color, label=label, lw=1.6)
    if len(runs) > 1:
        ax.fill_between(xs[:n], [min(c) for c in cols], [max(c) for c in cols], color=color, alpha=0.2, lw=0)


def _acc_limits(results: Mapping[str, list[History]]) -> tuple[float, float] | None:
    """Accuracy axis limits that show the runs that learned: from just below the lowest accuracy
    any unflagged run reaches in the second half of training, so one stalled run does not squash
    the others into a line at the top."""
    vals = [100 * a for hs in results.values() for h in hs if not (h.diverged or getattr(h, "stalled", False))
            for a in h.epoch_val_acc[len(h.epoch_val_acc) // 2:]]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    pad = max(0.5, 0.15 * (hi - lo))
    return (max(0.0, lo - pad), min(100.0, hi + pad))


def plot_results(results: Any, title: str | None = None, loss_log: bool = True,
                 acc_ylim: tuple[float, float] | None = None, lr_log: bool | None = None) -> Any:
    """The LR actually applied (per step, top), training loss and validation accuracy (per epoch,
    bottom; line = mean over seeds, band = min..max). Sized to stay legible in a book column.
    ``results`` is ``{name: [History, ...]}`` or a :func:`lrlib.runner.run` DataFrame.

    The LR axis is logarithmic when the LRs span more than a decade (``lr_log`` forces it either
    way); the accuracy axis zooms on the runs that learned unless ``acc_ylim`` is given (a
    diverged or stalled run then leaves the frame, and the tables say so).
    Returns the figure; ``fig.axes`` are ``[lr, loss, acc]``."""
    results = _as_results(results)
    if acc_ylim is None:
        acc_ylim = _acc_limits(results)
    if lr_log is None:
        lrs = [x for hs in results.values() for h in hs for x in h.lr if x > 0]
        lr_log = bool(lrs) and max(lrs) / min(lrs) > 10
    fig = plt.figure(figsize=(8.0, 6.0))
    grid = fig.add_gridspec(2, 2, height_ratios=(1.0, 1.25))
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
    colors = _colors(list(results))
    for name, hs in results.items():
        if not hs:
            continue
        spe = max(1, len(hs[0].lr) // max(1, len(hs[0].epoch_train_loss) or 1))
        c = colors[name]
        runs_lr = [h.lr for h in hs]
        if all(r == runs_lr[0] for r in runs_lr):
            axes[0].plot([t / spe for t in range(len(runs_lr[0]))], runs_lr[0], color=c, label=name, lw=1.6)
        else:  # metric-driven schedules differ per seed: one thin line each (a mean would be an LR no run used)
            for i, r in enumerate(runs_lr):
                axes[0].plot([t / spe for t in range(len(r))], r, color=c, lw=1.0, alpha=0.8,
                             label=name if i == 0 else None)
        ep = list(range(1, 1 + max(len(h.epoch_train_loss) for h in hs)))
        _band(axes[1], ep, [h.epoch_train_loss for h in hs], c, name)
        _band(axes[2], ep, [[100 * a for a in h.epoch_val_acc] for h in hs], c, name)
    axes[0].set(xlabel="epoch", ylabel="learning rate\n(read from optimizer)")
    if lr_log:
        axes[0].set_yscale("log")
    axes[1].set(xlabel="epoch", ylabel="training loss")
    axes[2].set(xlabel="epoch", ylabel="validation accuracy (%)")
    if loss_log:
        axes[1].set_yscale("log")
    if acc_ylim:
        axes[2].set_ylim(*acc_ylim)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _moving_average(xs: Sequence[float], window: int) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= window:
            acc -= xs[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot_lr_vs_loss(results: Any, ax: Any = None, smooth: int = 1,
                    all_seeds: bool = False) -> Any:
    """Per-step training loss against step, one line per recipe: shows noise, drops and divergence.

    ``results`` is ``{name: [History, ...]}`` or a :func:`lrlib.runner.run` DataFrame. ``smooth``
    is a trailing moving-average window in steps; with ``all_seeds`` the loss is first averaged
    over seeds (else the first seed is drawn)."""
    results = _as_results(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    colors = _colors(list(results))
    for name, hs in results.items():
        if not hs:
            continue
        if all_seeds:
            n = min(len(h.loss) for h in hs)
            loss = [sum(h.loss[i] for h in hs) / len(hs) for i in range(n)]
        else:
            loss = hs[0].loss
        ax.plot(_moving_average(loss, max(1, smooth)), color=colors[name], label=name, lw=0.9, alpha=0.85)
    ylabel = "batch training loss" + (f" ({smooth}-step average)" if smooth > 1 else "")
    ax.set(xlabel="optimizer step", ylabel=ylabel, yscale="log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_sweep(df: Any, metric: str = "val_acc", x: str = "lr", best: Mapping[str, float] | None = None,
               ax: Any = None, title: str | None = None) -> Any:
    """``metric`` against the peak LR (or another column ``x``, e.g. ``"epochs"``), one line per
    schedule: the mean over seeds with a min..max band, on a log x axis. ``best`` marks each
    schedule's chosen LR. ``df`` is a :func:`lrlib.runner.run` DataFrame (e.g. ``Tuned.sweep``).
    Accuracies are shown in %; a diverged run counts at chance, a loss as missing."""
    import math

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    names = list(dict.fromkeys(df["name"]))
    colors = _colors(names)
    scale = 100.0 if metric.endswith("acc") else 1.0
    for name in names:
        g = df[df["name"] == name]
        xs, mean, lo, hi = [], [], [], []
        for xv, gg in g.groupby(x, sort=True):
            v = [scale * float(a) for a in gg[metric] if math.isfinite(float(a))]
            if not v:
                continue
            xs.append(float(xv))
            mean.append(sum(v) / len(v))
            lo.append(min(v))
            hi.append(max(v))
        ax.plot(xs, mean, marker="o", ms=3.5, lw=1.5, color=colors[name], label=name)
        ax.fill_between(xs, lo, hi, color=colors[name], alpha=0.12, lw=0)
        if best and name in best and best[name] in xs:
            i = xs.index(best[name])
            ax.plot([xs[i]], [mean[i]], marker="*", ms=11, color=colors[name], mec="black", mew=0.6)
    ax.set_xscale("log")
    ticks = sorted({float(v) for v in df[x]})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("peak learning rate" if x == "lr" else x)
    label = {"val_acc": "validation accuracy (%)", "val_loss": "validation loss",
             "train_loss": "training loss (final weights)", "train_acc": "training accuracy (%)"}
    ax.set_ylabel(label.get(metric, metric))
    if metric.endswith("loss"):
        ax.set_yscale("log")
    else:
        vals = [scale * float(a) for a in df[metric] if math.isfinite(float(a))]
        good = sorted(vals)[len(vals) // 4:] if vals else []
        if good:
            ax.set_ylim(max(0.0, min(good) - 3.0), min(100.0, max(good) + 1.0))
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    if title:
        ax.set_title(title)
    return ax
