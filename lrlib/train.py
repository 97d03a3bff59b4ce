"""The book's training harness: budgets, one training run, a grid of runs, statistics.

Every chapter calls :func:`run_grid` (or :func:`train`) and never writes its
own loop. A comparison holds everything but the schedule fixed: for a given
seed every schedule starts from the same initial weights and sees the batches
in the same order; seeds vary both.
"""
from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping

import torch
import torch.nn.functional as F

from .data import Split, load_dataset
from .models import make_model
from .plateau import Plateau
from ._checks import check_choice, check_int, check_real
from .schedules import Constant, Schedule
from .scheduler import PlateauLR, ScheduledLR

__all__ = ["Budget", "BUDGETS", "get_budget", "pick_device", "History", "train", "run_grid",
           "Stats", "stats", "summarize", "paired_difference", "verdict", "compare", "Table", "results_table"]


# --------------------------------------------------------------------------- budgets
@dataclass(frozen=True)
class Budget:
    """How much a chapter trains: dataset, sizes, epochs, batch size, seeds, model width."""

    name: str
    dataset: str
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]
    width: int

    def __post_init__(self) -> None:
        if self.dataset not in ("mnist5k", "cifar10"):
            raise ValueError(f"dataset must be 'mnist5k' or 'cifar10', got {self.dataset!r}")
        for name in ("n_train", "n_val", "epochs", "batch_size", "width"):
            check_int(name, getattr(self, name), 1)
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size must be <= n_train={self.n_train}, got {self.batch_size}")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        for i, seed in enumerate(self.seeds):
            check_int(f"seeds[{i}]", seed, 0)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer updates per epoch (the last partial batch is dropped)."""
        return self.n_train // self.batch_size

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def epochs_to_steps(self, epochs: float) -> int:
        """Convert an epoch count into optimizer steps for this budget (at least 1)."""
        return max(1, round(epochs * self.steps_per_epoch))


BUDGETS: dict[str, Budget] = {
    # seconds per notebook: for the tests
    "smoke": Budget("smoke", "mnist5k", n_train=512, n_val=256, epochs=2, batch_size=64, seeds=(0,), width=8),
    # the offline default: 4,000 MNIST digits, three seeds
    "cpu": Budget("cpu", "mnist5k", n_train=4000, n_val=1000, epochs=8, batch_size=64, seeds=(0, 1, 2), width=16),
    # CIFAR-10 on a GPU
    "gpu": Budget("gpu", "cifar10", n_train=50000, n_val=10000, epochs=10, batch_size=512, seeds=(0, 1, 2),
                  width=64),
}


def get_budget(name: str | None = None) -> Budget:
    """The budget named by ``name``, else ``$LRLIB_BUDGET``, else ``gpu`` with CUDA and ``cpu`` without."""
    name = name or os.environ.get("LRLIB_BUDGET") or ("gpu" if torch.cuda.is_available() else "cpu")
    if name not in BUDGETS:
        raise ValueError(f"LRLIB_BUDGET must be one of {sorted(BUDGETS)}, got {name!r}")
    return BUDGETS[name]


def pick_device(prefer: str | None = None) -> torch.device:
    """``prefer`` if given, else ``$LRLIB_DEVICE``, else cuda, then mps, then cpu."""
    prefer = prefer or os.environ.get("LRLIB_DEVICE")
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@lru_cache(maxsize=4)
def _dataset(name: str, n_train: int, n_val: int, device: str) -> Split:
    return load_dataset(name, n_train, n_val).to(device)


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """Everything one training run recorded.

    ``lr``, ``momentum`` and ``loss`` have one entry per optimizer update: the LR
    and the momentum (Adam: beta1) read back from ``optimizer.param_groups[0]``
    just before the update, and that batch's training loss. The ``epoch_*`` lists
    have one entry per finished epoch.
    """

    name: str
    seed: int
    lr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    momentum: list[float] = field(default_factory=list)
    epoch_train_loss: list[float] = field(default_factory=list)
    epoch_train_acc: list[float] = field(default_factory=list)
    epoch_val_loss: list[float] = field(default_factory=list)
    epoch_val_acc: list[float] = field(default_factory=list)
    diverged: bool = False
    wall_time: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def final_val_acc(self) -> float:
        """Validation accuracy after the last epoch (0.1, chance, for a diverged run)."""
        return self.epoch_val_acc[-1] if self.epoch_val_acc and not self.diverged else 0.1

    @property
    def final_train_loss(self) -> float:
        """Mean training loss of the last epoch (``inf`` for a diverged run)."""
        return self.epoch_train_loss[-1] if self.epoch_train_loss and not self.diverged else math.inf

    @property
    def best_val_acc(self) -> float:
        return max(self.epoch_val_acc, default=0.1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[float, float]:
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(x[i:i + batch])
            total_loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return total_loss / len(y), correct / len(y)


# --------------------------------------------------------------------------- one run
def train(schedule: Schedule | Plateau | None = None, *, lr: float = 0.05, momentum: float = 0.9,
          weight_decay: float = 5e-4, optimizer: str = "sgd", momentum_schedule: Schedule | None = None,
          warmup: Schedule | None = None, budget: Budget | str | None = None, seed: int = 0,
          epochs: int | None = None, device: str | torch.device | None = None, name: str = "",
          progress: Any = None) -> History:
    """Train the budget's CNN once under ``schedule`` and return its :class:`History`.

    Args:
        schedule: a :class:`~lrlib.Schedule` (a factor per optimizer step,
            applied to ``lr``), a :class:`~lrlib.Plateau` (stepped with the
            validation loss after every epoch), or ``None`` for a constant LR.
        lr: the base (peak) learning rate.
        momentum: SGD momentum, or Adam's beta1 with ``optimizer="adam"``.
        optimizer: ``"sgd"`` or ``"adam"``.
        momentum_schedule: optional absolute momentum per step (cyclical LR).
        warmup: with a Plateau only, a warmup schedule multiplied in.
        seed: fixes the initial weights and the batch order.
        epochs: override the budget's epoch count.

    A run whose loss becomes non-finite stops at the end of that epoch and is
    marked ``diverged``; it does not raise.
    """
    budget = budget if isinstance(budget, Budget) else get_budget(budget)
    if schedule is not None and not isinstance(schedule, (Schedule, Plateau)):
        raise TypeError(f"schedule must be an lrlib Schedule, a Plateau or None, got {type(schedule).__name__}")
    if momentum_schedule is not None and not isinstance(momentum_schedule, Schedule):
        raise TypeError(f"momentum_schedule must be an lrlib Schedule or None, got {type(momentum_schedule).__name__}")
    if warmup is not None and not isinstance(schedule, Plateau):
        raise ValueError("warmup applies to a Plateau schedule only; wrap other schedules in lrlib.Warmup")
    check_real("lr", lr, 0.0, None, lo_open=True)
    check_real("momentum", momentum, 0.0, 1.0, hi_open=True)
    check_real("weight_decay", weight_decay, 0.0, None)
    check_int("seed", seed, 0)
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    epochs = budget.epochs if epochs is None else check_int("epochs", epochs, 1)
    dev = pick_device(device.type if isinstance(device, torch.device) else device)
    data = _dataset(budget.dataset, budget.n_train, budget.n_val, str(dev))

    torch.manual_seed(seed)
    model = make_model(budget.dataset, budget.width).to(dev)
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                                     weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)

    if isinstance(schedule, Plateau):
        sched: Any = PlateauLR(opt, schedule, warmup=warmup)
    else:
        sched = ScheduledLR(opt, Constant() if schedule is None else schedule, momentum=momentum_schedule)

    hist = History(name=name or repr(schedule), seed=seed, meta={
        "torch": torch.__version__, "device": str(dev), "budget": budget.name, "seed": seed,
        "dataset": budget.dataset, "schedule": repr(schedule), "lr": lr, "optimizer": optimizer,
        "python": platform.python_version()})
    order = torch.Generator().manual_seed(seed)
    n, bs = len(data.y_train), budget.batch_size
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=order).to(dev)
        losses, correct = [], torch.zeros((), device=dev)
        for i in range(budget.steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = data.x_train[idx], data.y_train[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            group = opt.param_groups[0]
            hist.lr.append(float(group["lr"]))
            hist.momentum.append(float(group["betas"][0] if "betas" in group else group["momentum"]))
            opt.step()
            sched.step()
            losses.append(loss.detach())
            correct += (out.argmax(1) == yb).sum()
        step_losses = torch.stack(losses).tolist()
        hist.loss.extend(step_losses)
        epoch_loss = sum(step_losses) / len(step_losses)
        if not math.isfinite(epoch_loss):
            hist.diverged = True
            break
        val_loss, val_acc = _evaluate(model, data.x_val, data.y_val)
        hist.epoch_train_loss.append(epoch_loss)
        hist.epoch_train_acc.append(correct.item() / (budget.steps_per_epoch * bs))
        hist.epoch_val_loss.append(val_loss)
        hist.epoch_val_acc.append(val_acc)
        if isinstance(sched, PlateauLR):
            sched.step(val_loss)
        if progress is not None:
            progress.update(1)
    hist.wall_time = time.perf_counter() - start
    return hist


def run_grid(recipes: Mapping[str, Schedule | Plateau | Mapping[str, Any] | None], *,
             budget: Budget | str | None = None, seeds: Iterable[int] | None = None,
             progress: bool | None = None, **common: Any) -> dict[str, list[History]]:
    """Train every recipe under every seed: ``{name: [History per seed]}``.

    A recipe is a schedule, a Plateau, ``None`` (constant) or a dict of
    :func:`train` keyword arguments (``{"schedule": ..., "lr": 0.2}``).
    ``common`` keyword arguments apply to every run. Progress shows as one bar
    (``tqdm.auto``) unless ``progress=False`` or ``LRLIB_PROGRESS=0``.
    """
    budget = budget if isinstance(budget, Budget) else get_budget(budget)
    seeds = tuple(budget.seeds if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if not isinstance(recipes, Mapping) or not recipes:
        raise ValueError(f"recipes must be a non-empty mapping of name to schedule, got {recipes!r}")
    if progress is None:
        progress = os.environ.get("LRLIB_PROGRESS", "1") != "0"
    runs = []
    for name, recipe in recipes.items():
        kwargs = dict(common)
        if isinstance(recipe, Mapping):
            kwargs.update(recipe)
        else:
            kwargs["schedule"] = recipe
        runs.append((name, kwargs))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs) * len(seeds) * common.get("epochs", budget.epochs), desc="epochs", leave=False)
    results: dict[str, list[History]] = {name: [] for name, _ in runs}
    try:
        for seed in seeds:
            for name, kwargs in runs:
                results[name].append(train(budget=budget, seed=seed, name=name, progress=bar, **kwargs))
    finally:
        if bar is not None:
            bar.close()
    return results


# --------------------------------------------------------------------------- statistics
# two-sided 95% Student-t quantiles, t_{0.975, df}
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def _t975(df: int) -> float:
    if df <= 0:
        return math.nan
    best = max(k for k in _T975 if k <= df)
    return _T975[best] if df <= 30 else 1.96


@dataclass(frozen=True)
class Stats:
    """Mean, sample standard deviation and 95% t-interval half-width of a few values."""

    mean: float
    std: float
    ci: float
    n: int
    values: tuple[float, ...]

    @property
    def lo(self) -> float:
        return self.mean - self.ci

    @property
    def hi(self) -> float:
        return self.mean + self.ci

    def format(self, scale: float = 1.0, digits: int = 1, signed: bool = False) -> str:
        """``"mean [lo, hi]"`` (scaled), or just the mean when there is no interval (one seed)."""
        sign = "+" if signed else ""
        if not math.isfinite(self.mean):
            return "not finite (a run diverged)"
        if math.isnan(self.ci):
            return f"{self.mean * scale:{sign}.{digits}f}"
        return (f"{self.mean * scale:{sign}.{digits}f} [{self.lo * scale:{sign}.{digits}f}, "
                f"{self.hi * scale:{sign}.{digits}f}]")


def verdict(d: Stats, higher_is_better: bool = True) -> str:
    """Words for a paired difference ``d`` (from :func:`paired_difference`).

    ``"better by more than seed noise"`` / ``"worse by more than seed noise"`` when the 95%
    interval excludes zero, ``"within seed noise"`` when it contains zero, and a plain statement
    when there is one seed (no interval) or a run diverged. Chapters glue this string, so the
    prose stays true whatever the numbers come out as.
    """
    if not math.isfinite(d.mean):
        return "not comparable (a run diverged)"
    if math.isnan(d.ci):
        return "measured on one seed only, so no noise estimate"
    if d.lo > 0:
        return "better by more than seed noise" if higher_is_better else "worse by more than seed noise"
    if d.hi < 0:
        return "worse by more than seed noise" if higher_is_better else "better by more than seed noise"
    return "within seed noise"


def stats(values: Iterable[float]) -> Stats:
    """:class:`Stats` of ``values`` (``ci`` is NaN for a single value)."""
    v = tuple(float(x) for x in values)
    if not v:
        raise ValueError("values must not be empty")
    mean = sum(v) / len(v)
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else math.nan
    return Stats(mean, std, _t975(len(v) - 1) * std / math.sqrt(len(v)) if len(v) > 1 else math.nan, len(v), v)


_METRICS = {
    "val_acc": lambda h: h.final_val_acc,
    "best_val_acc": lambda h: h.best_val_acc,
    "train_loss": lambda h: h.final_train_loss,
    "val_loss": lambda h: h.epoch_val_loss[-1] if h.epoch_val_loss and not h.diverged else math.inf,
    "diverged": lambda h: float(h.diverged),
    "wall_time": lambda h: h.wall_time,
}


def summarize(results: Mapping[str, list[History]], metric: str = "val_acc") -> dict[str, Stats]:
    """``{name: Stats}`` of a final ``metric`` across seeds: one of
    ``val_acc``, ``best_val_acc``, ``train_loss``, ``val_loss``, ``diverged``, ``wall_time``."""
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}")
    return {name: stats(_METRICS[metric](h) for h in hs) for name, hs in results.items()}


def paired_difference(results: Mapping[str, list[History]], a: str, b: str,
                      metric: str = "val_acc") -> Stats:
    """Stats of ``metric(a) - metric(b)`` paired by seed (same init and data order).

    If ``lo <= 0 <= hi`` the difference is within seed noise at 95%.
    """
    for name in (a, b):
        if name not in results:
            raise ValueError(f"{name!r} is not in results (have {sorted(results)})")
    by_seed = {h.seed: _METRICS[metric](h) for h in results[b]}
    return stats(_METRICS[metric](h) - by_seed[h.seed] for h in results[a] if h.seed in by_seed)


def compare(results: Mapping[str, list[History]], a: str, b: str, metric: str = "val_acc") -> str:
    """One glue-ready phrase comparing recipe ``a`` with ``b`` on ``metric``, paired by seed, e.g.
    ``"+1.7 points [+1.2, +2.3]: better by more than seed noise"``.

    Accuracy metrics are in percentage points; losses in loss units (lower is better)."""
    d = paired_difference(results, a, b, metric)
    if not math.isfinite(d.mean):
        return verdict(d)
    if metric.endswith("acc"):
        return f"{d.format(100, 1, signed=True)} points: {verdict(d, higher_is_better=True)}"
    return f"{d.format(1, 3, signed=True)}: {verdict(d, higher_is_better=False)}"


class Table:
    """A small table that shows as HTML in notebooks and as text elsewhere."""

    def __init__(self, header: list[str], rows: list[list[Any]]) -> None:
        self.header, self.rows = header, rows

    def __str__(self) -> str:
        cells = [self.header] + [[str(c) for c in r] for r in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.header))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def results_table(results: Mapping[str, list[History]], baseline: str | None = None) -> Table:
    """Final validation accuracy and training loss per recipe (mean ± 95% CI over seeds),
    and, against ``baseline``, the paired differences in accuracy and training loss."""
    acc, loss = summarize(results, "val_acc"), summarize(results, "train_loss")
    header = ["schedule", "val. accuracy (%)", "final train loss", "diverged runs"]
    if baseline:
        header += [f"Δ acc. vs {baseline} (points)", f"Δ train loss vs {baseline}"]
    rows = []
    for name, hs in results.items():
        row = [name, _pm(acc[name], 100, 1), _pm(loss[name], 1, 3), f"{sum(h.diverged for h in hs)}/{len(hs)}"]
        if baseline:
            if name == baseline:
                row += ["—", "—"]
            else:
                row += [_pm(paired_difference(results, name, baseline), 100, 1),
                        _pm(paired_difference(results, name, baseline, "train_loss"), 1, 3)]
        rows.append(row)
    return Table(header, rows)


def _pm(s: Stats, scale: float, digits: int) -> str:
    if not math.isfinite(s.mean):
        return "diverged"
    if math.isnan(s.ci):
        return f"{s.mean * scale:.{digits}f}"
    return f"{s.mean * scale:.{digits}f} ± {s.ci * scale:.{digits}f}"
