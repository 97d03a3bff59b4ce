"""The book's training harness: budgets, devices and precision, one training run, statistics.

Every chapter trains through :mod:`lrlib.runner` (or the older :func:`run_grid`, now a thin wrapper
over it) and never writes its own loop. A comparison holds everything but the schedule fixed: for a
given seed every schedule starts from the same initial weights and sees the batches in the same
order; seeds vary both.

This module holds the training loop itself (:func:`fit`, and :func:`fit_stacked` for several models
trained at once on a GPU), the :class:`History` a run records, and the statistics the chapters glue
into their prose (:class:`Stats`, :class:`Ratio`, :func:`verdict`, :func:`compare`). scipy and
pandas are imported only inside the functions that need them.
"""
from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F

from ._checks import check_int, check_real
from .data import Split, data_root, load_dataset
from .models import make_model, model_name
from .plateau import Plateau
from .schedules import Constant, Schedule
from .scheduler import PlateauLR, ScheduledLR, set_momentum

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Run

__all__ = ["Budget", "BUDGETS", "get_budget", "budget_data", "make_optimizer", "noisy_labels", "pick_device", "resolve_precision", "cpu_has_bf16", "uses_channels_last",
           "History", "train", "fit", "fit_stacked", "run_grid",
           "Stats", "Ratio", "stats", "ratio_stats", "summarize", "paired_difference", "verdict", "compare",
           "Table", "results_table", "METRICS"]


# --------------------------------------------------------------------------- budgets
@dataclass(frozen=True)
class Budget:
    """How much a chapter trains: dataset, sizes, epochs, batch size, seeds, model width.

    ``seeds`` are the seeds a comparison reports (enough for its intervals); ``sweep_seeds`` are
    other seeds, used only to pick each schedule's peak LR from the grid ``lrs``, so the runs that
    choose an LR are never the runs that judge it.

    ``augment`` turns on random horizontal flips of the training batches (CIFAR-10 only: flipping
    a digit changes what it is), drawn from the run's seed like the batch order.

    ``label_noise`` replaces that fraction of the training labels by other classes
    (:func:`noisy_labels`, fixed for every run); validation labels stay clean. It makes a harder
    task of the same data, where fitting every training label is no longer the goal.
    """

    name: str
    dataset: str
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]
    width: int
    augment: bool = False
    sweep_seeds: tuple[int, ...] = (100, 101, 102)
    lrs: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)
    label_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.dataset not in ("mnist5k", "cifar10"):
            raise ValueError(f"dataset must be 'mnist5k' or 'cifar10', got {self.dataset!r}")
        for name in ("n_train", "n_val", "epochs", "batch_size", "width"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size must be <= n_train={self.n_train}, got {self.batch_size}")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        object.__setattr__(self, "seeds", tuple(check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(self.seeds)))
        object.__setattr__(self, "sweep_seeds", tuple(check_int(f"sweep_seeds[{i}]", s, 0)
                                                      for i, s in enumerate(self.sweep_seeds)))
        if not self.sweep_seeds or set(self.sweep_seeds) & set(self.seeds):
            raise ValueError(f"sweep_seeds must be non-empty and disjoint from seeds, got {self.sweep_seeds!r}")
        object.__setattr__(self, "lrs", tuple(check_real(f"lrs[{i}]", x, 0.0, None, lo_open=True)
                                              for i, x in enumerate(self.lrs)))
        if not self.lrs or list(self.lrs) != sorted(set(self.lrs)):
            raise ValueError(f"lrs must be a non-empty increasing sequence, got {self.lrs!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be True or False, got {self.augment!r}")
        object.__setattr__(self, "label_noise", check_real("label_noise", self.label_noise, 0.0, 1.0,
                                                           hi_open=True))
        if self.augment and self.dataset != "cifar10":
            raise ValueError("augment (random flips) applies to dataset 'cifar10' only")

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer updates per epoch (the last partial batch is dropped)."""
        return self.n_train // self.batch_size

    @property
    def total_steps(self) -> int:
        """Optimizer updates in a run of ``epochs`` epochs."""
        return self.steps_per_epoch * self.epochs

    def epochs_to_steps(self, epochs: float) -> int:
        """Convert an epoch count into optimizer steps for this budget (at least 1)."""
        return max(1, round(epochs * self.steps_per_epoch))


BUDGETS: dict[str, Budget] = {
    # seconds per notebook: for the tests (two seeds, so every interval code path runs)
    "smoke": Budget("smoke", "mnist5k", n_train=512, n_val=256, epochs=2, batch_size=64, seeds=(0, 1), width=8,
                    sweep_seeds=(100,), lrs=(0.05, 0.1), label_noise=0.2),
    # the offline default: 4,000 MNIST digits, a fifth of their training labels wrong (on clean
    # labels every tuned decay ties a tuned constant; with the noise the schedule matters: the
    # comparison chapter measures both); 12 seeds resolve differences of about half a point
    "cpu": Budget("cpu", "mnist5k", n_train=4000, n_val=1000, epochs=8, batch_size=64, seeds=tuple(range(12)),
                  width=16, sweep_seeds=(100, 101, 102), lrs=(0.01, 0.02, 0.05, 0.1, 0.2), label_noise=0.2),
    # CIFAR-10 on a GPU
    "gpu": Budget("gpu", "cifar10", n_train=50000, n_val=10000, epochs=10, batch_size=512, seeds=(0, 1, 2, 3, 4),
                  width=64, augment=True, sweep_seeds=(100, 101), lrs=(0.05, 0.1, 0.2, 0.4, 0.8)),
}


def get_budget(name: str | None = None) -> Budget:
    """The budget named by ``name``, else ``$LRLIB_BUDGET``, else ``gpu`` with CUDA and ``cpu`` without."""
    if name:
        source = "budget"
    elif os.environ.get("LRLIB_BUDGET"):
        name, source = os.environ["LRLIB_BUDGET"], "LRLIB_BUDGET"
    else:
        name, source = ("gpu" if torch.cuda.is_available() else "cpu"), "the default budget"
    if not isinstance(name, str) or name not in BUDGETS:
        raise ValueError(f"{source} must be one of {sorted(BUDGETS)}, got {name!r}")
    return BUDGETS[name]


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """``prefer`` if given, else ``$LRLIB_DEVICE``, else cuda, then mps, then cpu.

    A name torch does not know, or a device this machine lacks, raises ``ValueError`` naming
    ``device`` or ``LRLIB_DEVICE``, whichever it came from.
    """
    source = "device"
    if prefer is None or prefer == "":
        prefer, source = os.environ.get("LRLIB_DEVICE") or None, "LRLIB_DEVICE"
    if prefer is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = prefer if isinstance(prefer, torch.device) else torch.device(prefer)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{source} must name a torch device such as 'cpu', 'cuda' or 'mps', "
                         f"got {prefer!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{source} is {prefer!r}, but CUDA is not available on this machine")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"{source} is {prefer!r}, but MPS is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{source} must be 'cpu', 'cuda' or 'mps' (optionally with an index), got {prefer!r}")
    return dev


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when this CPU has native bfloat16 arithmetic (x86 ``avx512_bf16`` or ``amx_bf16``)
    and PyTorch has oneDNN, so that bf16 autocast makes convolutions faster, not slower."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(device: str | torch.device, precision: str | None = None) -> str:
    """``"bf16"`` (bfloat16 autocast) or ``"fp32"`` for training on ``device``.

    ``precision`` if given, else ``$LRLIB_PRECISION``; ``None``, ``""`` or ``"auto"`` choose
    ``bf16`` where it is fast (a CUDA GPU with bf16 support; a CPU with ``avx512_bf16`` or
    ``amx_bf16``) and ``fp32`` elsewhere (including MPS).
    """
    source = "precision"
    if precision is None or precision == "":
        precision, source = os.environ.get("LRLIB_PRECISION", "auto") or "auto", "LRLIB_PRECISION"
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"{source} must be 'fp32', 'bf16' or 'auto', got {precision!r}")
    if precision != "auto":
        return precision
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if dev.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def uses_channels_last(device: str | torch.device) -> bool:
    """Channels-last layout where it is faster for these CNNs: CPU (oneDNN) and CUDA."""
    return torch.device(device).type in ("cpu", "cuda")


# The seed of the label noise: one no run uses, because a run's batch order is drawn by
# ``randperm`` from its own seed, and the noise drawn from the same seed would put every wrong label
# into that run's first batches.
LABEL_NOISE_SEED = 2_718_281_828


def noisy_labels(y: torch.Tensor, fraction: float, num_classes: int,
                 seed: int = LABEL_NOISE_SEED) -> torch.Tensor:
    """A copy of ``y`` with ``round(fraction * len(y))`` labels, chosen by ``seed``, each replaced by
    a different class drawn uniformly (symmetric label noise); the same for every run."""
    gen = torch.Generator().manual_seed(seed)
    out = y.clone()
    k = round(fraction * len(y))
    idx = torch.randperm(len(y), generator=gen)[:k]
    shift = torch.randint(1, num_classes, (k,), generator=gen)
    out[idx] = (y[idx].cpu() + shift).remainder(num_classes).to(y.device)
    return out


def _with_noise(split: Split, label_noise: float) -> Split:
    if not label_noise:
        return split
    return Split(split.x_train, noisy_labels(split.y_train, label_noise, split.num_classes), split.x_val,
                 split.y_val, split.num_classes, split.name)


def budget_data(budget: Budget | str | None = None, device: str | torch.device = "cpu") -> Split:
    """The data a budget's runs train on: its split of the dataset, with the budget's label noise
    applied to the training labels (validation labels stay clean), on ``device``. For code outside
    the harness (an LR range test, a hand-written loop) that must see what the runs see."""
    b = budget if isinstance(budget, Budget) else get_budget(budget)
    return _with_noise(load_dataset(b.dataset, b.n_train, b.n_val), b.label_noise).to(device)


@lru_cache(maxsize=6)
def _dataset(name: str, n_train: int, n_val: int, device: str, channels_last: bool, root: str,
             label_noise: float = 0.0) -> Split:
    # ``root`` is part of the cache key only (load_dataset reads $LRLIB_DATA itself)
    split = _with_noise(load_dataset(name, n_train, n_val).to(device), label_noise)
    if channels_last:
        split = Split(split.x_train.contiguous(memory_format=torch.channels_last), split.y_train,
                      split.x_val.contiguous(memory_format=torch.channels_last), split.y_val,
                      split.num_classes, split.name)
    return split


def _data_for(run: Run) -> Split:
    b = run.budget
    root = str(data_root()) if b.dataset == "cifar10" else ""
    return _dataset(b.dataset, b.n_train, b.n_val, run.device, run.channels_last, root, b.label_noise)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads (results depend on it bit for bit), then restore."""
    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# --------------------------------------------------------------------------- history
_LIST_FIELDS = ("lr", "loss", "momentum", "epoch_train_loss", "epoch_train_acc", "epoch_val_loss", "epoch_val_acc")


@dataclass(repr=False)
class History:
    """Everything one training run recorded.

    ``lr``, ``momentum`` and ``loss`` have one entry per optimizer update: the LR and the momentum
    (Adam: beta1) read back from ``optimizer.param_groups[0]`` just before the update, and that
    batch's training loss. The ``epoch_*`` lists have one entry per finished epoch
    (``epoch_train_*`` are means over that epoch's batches, taken while the weights moved).
    ``full_train_loss``/``full_train_acc`` come from a full pass over the training set with the
    final weights. Evaluation runs in the training precision (``meta["precision"]``): at the cpu
    budget, evaluating bf16-trained weights in float32 instead moved the mean full-pass training
    loss by under 0.1% and the accuracy by under 0.1 points (``benchmarks/precision_check.py``).

    Flags (what ``results_table`` and the runner's table show):

    * ``diverged``: a batch training loss became NaN or infinite (training stops at the end of that
      epoch), or the final full pass gave a non-finite loss.
    * ``stalled``: the run finished with finite losses but did not learn: the final full-pass
      training loss is not below the mean batch loss of the first epoch, or the final validation
      accuracy is at most 1.5 times chance (15% with 10 classes).

    ``snapshots`` (runs with :attr:`Run.snapshots <lrlib.runner.Run>`): one dict per snapshot step
    with ``step``, the model's own ``val_loss``/``val_acc`` there, and ``ensemble_val_loss``/
    ``ensemble_val_acc`` of the softmax averaged over this and every earlier snapshot.
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
    stalled: bool = False
    full_train_loss: float | None = None
    full_train_acc: float | None = None
    num_classes: int = 10
    snapshots: list[dict[str, float]] = field(default_factory=list)

    @property
    def chance(self) -> float:
        """Accuracy of guessing: ``1 / num_classes``."""
        return 1.0 / self.num_classes

    @property
    def final_val_acc(self) -> float:
        """Validation accuracy after the last epoch (chance for a diverged run)."""
        return self.epoch_val_acc[-1] if self.epoch_val_acc and not self.diverged else self.chance

    @property
    def final_val_loss(self) -> float:
        """Validation loss after the last epoch (``inf`` for a diverged run)."""
        return self.epoch_val_loss[-1] if self.epoch_val_loss and not self.diverged else math.inf

    @property
    def final_train_loss(self) -> float:
        """Training loss of the final weights over the whole training set (``inf`` for a diverged run).

        Histories recorded before the full pass existed fall back to the last epoch's batch mean."""
        if self.diverged:
            return math.inf
        if self.full_train_loss is not None:
            return self.full_train_loss
        return self.epoch_train_loss[-1] if self.epoch_train_loss else math.inf

    @property
    def final_train_acc(self) -> float:
        """Training accuracy of the final weights (full pass; chance for a diverged run)."""
        if self.diverged:
            return self.chance
        if self.full_train_acc is not None:
            return self.full_train_acc
        return self.epoch_train_acc[-1] if self.epoch_train_acc else self.chance

    @property
    def best_val_acc(self) -> float:
        """The highest validation accuracy over the epochs."""
        return max(self.epoch_val_acc, default=self.chance)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, numbers and strings (what the run cache stores as JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "History":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"History has no fields {unknown}")
        kw = dict(d)
        for k in _LIST_FIELDS:
            if k in kw:
                kw[k] = [float(x) for x in kw[k]]
        kw["meta"] = dict(kw.get("meta") or {})
        return cls(**kw)

    def __repr__(self) -> str:
        flag = " diverged" if self.diverged else " stalled" if self.stalled else ""
        return (f"History({self.name!r}, seed={self.seed}, {len(self.loss)} steps, "
                f"{len(self.epoch_val_acc)} epochs, val_acc={self.final_val_acc:.4f}{flag})")


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, autocast: Any,
              batch: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` over ``(x, y)`` in eval mode, in the training
    precision (the loss itself is summed in float32/float64)."""
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=y.device)
    correct = torch.zeros((), dtype=torch.int64, device=y.device)
    with torch.no_grad():
        for i in range(0, len(y), batch):
            with autocast():
                out = model(x[i:i + batch])
            yb = y[i:i + batch]
            total_loss += F.cross_entropy(out.float(), yb, reduction="sum").double()
            correct += (out.argmax(1) == yb).sum()
    model.train()
    return float(total_loss) / len(y), int(correct) / len(y)


def _autocast(run: Run) -> Any:
    dev = torch.device(run.device).type
    enabled = run.precision == "bf16"
    return lambda: torch.autocast(dev, dtype=torch.bfloat16, enabled=enabled)


def _flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip each image of the batch left-right with probability 1/2 (the mask drawn from ``gen``)."""
    mask = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device)
    return torch.where(mask.view(-1, *([1] * (x.dim() - 1))), x.flip(-1), x)


def _stall_check(h: History) -> None:
    """Set ``h.stalled`` from the definition in :class:`History`."""
    if h.diverged or not h.epoch_train_loss:
        return
    no_progress = h.final_train_loss >= h.epoch_train_loss[0]
    at_chance = h.final_val_acc <= 1.5 * h.chance
    h.stalled = bool(no_progress or at_chance)


def _meta(run: Run, **extra: Any) -> dict[str, Any]:
    import lrlib

    return {"torch": torch.__version__, "lrlib": lrlib.__version__, "python": platform.python_version(),
            "device": run.device, "budget": run.budget.name, "seed": run.seed, "dataset": run.budget.dataset,
            "model": model_name(run.budget.dataset), "schedule": repr(run.schedule), "lr": run.lr,
            "optimizer": run.optimizer, "precision": run.precision, "channels_last": run.channels_last,
            "threads": run.threads, **extra}


def make_optimizer(run: Run, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer ``run`` names, over ``model``'s parameters at LR ``run.lr``.

    With ``run.body_lr != 1`` the last layer (the classifier head) is the first parameter group, at
    ``run.lr``, and every other parameter the second, at ``run.lr * run.body_lr``.
    """
    params: Any = list(model.parameters())
    if run.body_lr != 1.0:
        head = {id(p) for p in list(model.children())[-1].parameters()}
        params = [{"params": [p for p in params if id(p) in head], "lr": run.lr},
                  {"params": [p for p in params if id(p) not in head], "lr": run.lr * run.body_lr}]
    kw: dict[str, Any] = {"lr": run.lr, "weight_decay": run.weight_decay}
    if run.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=run.momentum, **kw)
    if run.optimizer == "adam":
        return torch.optim.AdamW(params, betas=(run.momentum, 0.999), **kw)
    if run.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, momentum=run.momentum, **kw)
    try:
        import schedulefree
    except ImportError as e:  # pragma: no cover - listed in requirements.txt
        raise ImportError(f"optimizer {run.optimizer!r} needs the schedulefree package "
                          "(pip install schedulefree)") from e
    if run.optimizer == "schedulefree-sgd":
        opt = schedulefree.SGDScheduleFree(params, momentum=run.momentum, **kw)
    else:
        opt = schedulefree.AdamWScheduleFree(params, betas=(run.momentum, 0.999), **kw)
    opt.train()
    return opt


def _recalibrate_batch_norm(model: torch.nn.Module, x: torch.Tensor, batch: int, autocast: Any,
                            batches: int = 50) -> None:
    """Recompute batch-norm running statistics for the current weights (a cumulative average over
    the first ``batches`` training batches); nothing happens for a model without batch norm."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad(), autocast():
        for i in range(0, min(len(x), batches * batch), batch):
            model(x[i:i + batch])
    for m, mom in zip(norms, saved):
        m.momentum = mom


def _snapshot(hist: History, step: int, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
              autocast: Any, ensemble: torch.Tensor | None) -> torch.Tensor:
    """Score the model on the validation set at ``step``, alone and averaged (softmax) with the
    earlier snapshots; append both to ``hist.snapshots`` and return the running sum of softmaxes."""
    model.eval()
    with torch.no_grad():
        probs = torch.cat([torch.softmax(_forward(model, x[i:i + 1000], autocast).float(), 1).double()
                           for i in range(0, len(y), 1000)])
    model.train()
    total = probs if ensemble is None else ensemble + probs
    k = len(hist.snapshots) + 1

    def score(p: torch.Tensor) -> tuple[float, float]:
        nll = -torch.log(p.gather(1, y.view(-1, 1)).clamp_min(1e-12)).mean()
        return float(nll), float((p.argmax(1) == y).double().mean())

    loss, acc = score(probs)
    eloss, eacc = score(total / k)
    hist.snapshots.append({"step": step, "val_loss": loss, "val_acc": acc,
                           "ensemble_val_loss": eloss, "ensemble_val_acc": eacc})
    return total


def _forward(model: torch.nn.Module, x: torch.Tensor, autocast: Any) -> torch.Tensor:
    with autocast():
        return model(x)


# --------------------------------------------------------------------------- one run
def fit(run: Run, progress: Any = None) -> History:
    """Train ``run`` (a :class:`lrlib.runner.Run`) once and return its :class:`History`.

    ``progress`` is anything with ``update(1)``, called after every epoch. A run whose loss becomes
    non-finite stops at the end of that epoch and is marked ``diverged``; it does not raise.
    """
    budget = run.budget
    dev = torch.device(run.device)
    with _threads(run.threads):
        data = _data_for(run)
        autocast = _autocast(run)
        torch.manual_seed(run.seed)
        model = make_model(budget.dataset, budget.width).to(dev)
        if run.channels_last:
            model = model.to(memory_format=torch.channels_last)
        opt = make_optimizer(run, model)
        free = run.optimizer.startswith("schedulefree")
        mom = run.momentum_schedule
        if isinstance(run.schedule, Plateau):
            sched: Any = PlateauLR(opt, run.schedule, warmup=run.warmup)
            if mom is not None:  # PlateauLR has no momentum schedule: applied here, step by step
                set_momentum(opt, mom(0))
        else:
            sched = ScheduledLR(opt, Constant() if run.schedule is None else run.schedule, momentum=mom)
            mom = None  # ScheduledLR applies it

        hist = History(name=run.name, seed=run.seed, num_classes=data.num_classes, meta=_meta(run))
        order = torch.Generator().manual_seed(run.seed)
        n, bs = len(data.y_train), budget.batch_size
        group = opt.param_groups[0]
        mkey = "betas" if "betas" in group else "momentum"
        step = 0
        snaps = set(run.snapshots)
        ensemble: torch.Tensor | None = None

        @contextlib.contextmanager
        def evaluating() -> Iterator[None]:
            """The weights to evaluate: a schedule-free optimizer's averaged sequence (with the
            batch-norm statistics recomputed for them), the trained weights otherwise."""
            if free:
                opt.eval()
                _recalibrate_batch_norm(model, data.x_train, bs, autocast)
            try:
                yield
            finally:
                if free:
                    opt.train()

        start = time.perf_counter()
        for _ in range(run.epochs):
            perm = torch.randperm(n, generator=order).to(dev)
            losses, correct = [], torch.zeros((), dtype=torch.int64, device=dev)
            for i in range(budget.steps_per_epoch):
                idx = perm[i * bs:(i + 1) * bs]
                xb, yb = data.x_train[idx], data.y_train[idx]
                if budget.augment:
                    xb = _flip(xb, order)
                with autocast():
                    out = model(xb)
                loss = F.cross_entropy(out.float(), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                hist.lr.append(float(group["lr"]))
                hist.momentum.append(float(group["betas"][0] if mkey == "betas" else group["momentum"]))
                opt.step()
                sched.step()
                step += 1
                if mom is not None:
                    set_momentum(opt, mom(step))
                if step in snaps:
                    with evaluating():
                        ensemble = _snapshot(hist, step, model, data.x_val, data.y_val, autocast, ensemble)
                losses.append(loss.detach())
                correct += (out.argmax(1) == yb).sum()
            step_losses = torch.stack(losses).tolist()
            hist.loss.extend(step_losses)
            epoch_loss = math.fsum(step_losses) / len(step_losses)
            if not math.isfinite(epoch_loss):
                hist.diverged = True
                break
            with evaluating():
                val_loss, val_acc = _evaluate(model, data.x_val, data.y_val, autocast)
            hist.epoch_train_loss.append(epoch_loss)
            hist.epoch_train_acc.append(int(correct) / (budget.steps_per_epoch * bs))
            hist.epoch_val_loss.append(val_loss)
            hist.epoch_val_acc.append(val_acc)
            if isinstance(sched, PlateauLR):
                sched.step(val_loss)
            if progress is not None:
                progress.update(1)
        if not hist.diverged:
            with evaluating():
                hist.full_train_loss, hist.full_train_acc = _evaluate(model, data.x_train, data.y_train,
                                                                      autocast)
            if not math.isfinite(hist.full_train_loss):
                hist.diverged = True
        hist.wall_time = time.perf_counter() - start
        _stall_check(hist)
    return hist


def _float_batch_norm(model: torch.nn.Module) -> None:
    """Make every batch norm of ``model`` take a float32 input (a forward pre-hook).

    Eager batch norm under bf16 autocast takes a bfloat16 input with float32 weights and computes
    in float32 inside the kernel; its vmap rule refuses that mix, so the stacked path casts the
    input up front (the output stays float32 until autocast casts it for the next convolution)."""
    def to_float(mod: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0].float(), *args[1:])

    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.register_forward_pre_hook(to_float)


def fit_stacked(runs: Sequence[Run]) -> list[History]:
    """Train several runs at once as one stacked model (``torch.func``: ``stack_module_state``,
    ``functional_call`` and ``vmap``), with a per-model LR, momentum and weight decay.

    This is a GPU lever (on a small CPU it is slower than one run at a time). The runs must agree
    on everything that shapes the computation: budget data and model, epochs, device, precision,
    layout and thread count; the optimizer must be SGD and the schedules plain :class:`Schedule`
    objects (no Plateau, no warmup). Each model starts from its own seed's initial weights and sees
    its own seed's batch order, exactly as :func:`fit` would; the SGD update is the same
    arithmetic as ``torch.optim.SGD``. The LR and momentum recorded per step are the ones applied.
    Results agree with :func:`fit` up to floating-point summation order (batched kernels).
    """
    from torch.func import functional_call, grad, stack_module_state, vmap

    from .runner import stack_signature

    if not runs:
        return []
    sig = stack_signature(runs[0])
    for r in runs:
        if sig is None or stack_signature(r) != sig:
            raise ValueError("runs must share budget, epochs, device, precision and threads, use SGD and plain "
                             f"schedules to be stacked; {r.name!r} differs")
    r0, budget, m = runs[0], runs[0].budget, len(runs)
    dev = torch.device(r0.device)
    with _threads(r0.threads):
        data = _data_for(r0)
        autocast = _autocast(r0)
        models = []
        for r in runs:
            torch.manual_seed(r.seed)
            net = make_model(budget.dataset, budget.width).to(dev)
            models.append(net.to(memory_format=torch.channels_last) if r0.channels_last else net)
        params, buffers = stack_module_state(models)
        params = {k: v.detach() for k, v in params.items()}
        base = make_model(budget.dataset, budget.width).to("meta")
        if r0.precision == "bf16":
            _float_batch_norm(base)

        def loss_one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor,
                     y: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
            with autocast():
                out = functional_call(base, (p, b), (x,))
            loss = F.cross_entropy(out.float(), y)
            return loss, (loss.detach(), (out.argmax(-1) == y).sum())

        def eval_one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor,
                     y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            with autocast():
                out = functional_call(base, (p, b), (x,))
            out = out.float()
            return F.cross_entropy(out, y, reduction="sum").double(), (out.argmax(-1) == y).sum()

        step_fn = vmap(grad(loss_one, has_aux=True))
        eval_fn = vmap(eval_one, in_dims=(0, 0, None, None))

        def evaluate(x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[list[float], list[float]]:
            base.eval()
            tot = torch.zeros(m, dtype=torch.float64, device=dev)
            cor = torch.zeros(m, dtype=torch.int64, device=dev)
            with torch.no_grad():
                for i in range(0, len(y), batch):
                    lo, co = eval_fn(params, buffers, x[i:i + batch], y[i:i + batch])
                    tot += lo
                    cor += co
            base.train()
            return (tot / len(y)).tolist(), (cor.double() / len(y)).tolist()

        def per_model(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
            return values.view(-1, *([1] * (like.dim() - 1)))

        hists = [History(name=r.name, seed=r.seed, num_classes=data.num_classes, meta=_meta(r, stacked=m))
                 for r in runs]
        gens = [torch.Generator().manual_seed(r.seed) for r in runs]
        scheds = [r.schedule if isinstance(r.schedule, Schedule) else Constant() for r in runs]  # no Plateau here
        bufs = {k: torch.zeros_like(v) for k, v in params.items()}
        wd = torch.tensor([r.weight_decay for r in runs], device=dev)
        n, bs, spe = len(data.y_train), budget.batch_size, budget.steps_per_epoch
        alive = [True] * m
        step = 0
        start = time.perf_counter()
        for _ in range(r0.epochs):
            perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
            losses, correct = [], torch.zeros(m, dtype=torch.int64, device=dev)
            for i in range(spe):
                idx = perms[:, i * bs:(i + 1) * bs]
                xb, yb = data.x_train[idx.reshape(-1)], data.y_train[idx]
                if budget.augment:
                    xb = torch.cat([_flip(xb[j * bs:(j + 1) * bs], g) for j, g in enumerate(gens)])
                xb = xb.view(m, bs, *xb.shape[1:])
                lrs = [r.lr * s(step) for r, s in zip(runs, scheds)]
                moms = [r.momentum if r.momentum_schedule is None else r.momentum_schedule(step) for r in runs]
                grads, (loss, corr) = step_fn(params, buffers, xb, yb)
                lr_t = torch.tensor(lrs, device=dev)
                mom_t = torch.tensor(moms, device=dev)
                with torch.no_grad():  # torch.optim.SGD's arithmetic, one LR/momentum/decay per model
                    for k, p in params.items():
                        d_p = grads[k] + per_model(wd, p) * p
                        bufs[k] = bufs[k] * per_model(mom_t, p) + d_p
                        params[k] = p - per_model(lr_t, p) * bufs[k]
                for j in range(m):
                    hists[j].lr.append(float(lrs[j]))
                    hists[j].momentum.append(float(moms[j]))
                step += 1
                losses.append(loss)
                correct += corr
            step_losses = torch.stack(losses, 1).tolist()
            val_loss, val_acc = evaluate(data.x_val, data.y_val)
            train_acc = (correct.double() / (spe * bs)).tolist()
            for j, h in enumerate(hists):
                if not alive[j]:
                    continue
                h.loss.extend(step_losses[j])
                epoch_loss = math.fsum(step_losses[j]) / spe
                if not math.isfinite(epoch_loss):
                    h.diverged, alive[j] = True, False
                    continue
                h.epoch_train_loss.append(epoch_loss)
                h.epoch_train_acc.append(train_acc[j])
                h.epoch_val_loss.append(val_loss[j])
                h.epoch_val_acc.append(val_acc[j])
            if not any(alive):
                break
        full_loss, full_acc = evaluate(data.x_train, data.y_train)
        wall = (time.perf_counter() - start) / m
        for j, h in enumerate(hists):
            # a stacked run that diverged early keeps its per-step lists up to that epoch, like fit()
            h.lr, h.momentum = h.lr[:len(h.loss)], h.momentum[:len(h.loss)]
            if not h.diverged:
                h.full_train_loss, h.full_train_acc = full_loss[j], full_acc[j]
                h.diverged = not math.isfinite(full_loss[j])
            h.wall_time = wall
            _stall_check(h)
    return hists


def train(schedule: Schedule | Plateau | None = None, *, lr: float = 0.05, momentum: float = 0.9,
          weight_decay: float = 5e-4, optimizer: str = "sgd", momentum_schedule: Schedule | None = None,
          warmup: Schedule | None = None, budget: Budget | str | None = None, seed: int = 0,
          epochs: int | None = None, device: str | torch.device | None = None, name: str = "",
          precision: str | None = None, threads: int | None = None, progress: Any = None) -> History:
    """Train the budget's CNN once under ``schedule`` and return its :class:`History` (no cache).

    Args:
        schedule: a :class:`~lrlib.Schedule` (a factor per optimizer step, applied to ``lr``), a
            :class:`~lrlib.Plateau` (stepped with the validation loss after every epoch), or
            ``None`` for a constant LR.
        lr: the base (peak) learning rate.
        momentum: SGD momentum, or AdamW's beta1 with ``optimizer="adam"``.
        weight_decay: L2 penalty (SGD) or decoupled weight decay (AdamW).
        optimizer: ``"sgd"`` or ``"adam"``.
        momentum_schedule: optional absolute momentum per step (cyclical LR); with a Plateau it is
            applied step by step in the loop.
        warmup: with a Plateau only, a warmup schedule multiplied in.
        budget: a :class:`Budget` or its name (default: :func:`get_budget`).
        seed: fixes the initial weights and the batch order.
        epochs: override the budget's epoch count.
        device: default :func:`pick_device`.
        name: a label for the history (default: the schedule's repr).
        precision: ``"fp32"``, ``"bf16"`` or ``"auto"`` (default: :func:`resolve_precision`).
        threads: intra-op CPU threads for this run (default: the current setting).
        progress: anything with ``update(1)``, called after every epoch.

    To train many runs, cache them on disk or dispatch them to other processes, use
    :func:`lrlib.runner.run`. A run whose loss becomes non-finite stops at the end of that epoch and
    is marked ``diverged``; it does not raise.
    """
    from .runner import Run

    r = Run(schedule=schedule, lr=lr, seed=seed, budget=budget, name=name, momentum=momentum,
            weight_decay=weight_decay, optimizer=optimizer, momentum_schedule=momentum_schedule, warmup=warmup,
            epochs=epochs, device=device, precision=precision, threads=threads)
    return fit(r, progress=progress)


def run_grid(recipes: Mapping[str, Schedule | Plateau | Mapping[str, Any] | None], *,
             budget: Budget | str | None = None, seeds: Iterable[int] | None = None,
             progress: bool | None = None, **common: Any) -> dict[str, list[History]]:
    """Train every recipe under every seed: ``{name: [History per seed]}``.

    A thin wrapper over :func:`lrlib.runner.grid` and :func:`lrlib.runner.run` (so runs come from
    the disk cache when they were trained before). A recipe is a schedule, a Plateau, ``None``
    (constant) or a dict of :func:`train` keyword arguments (``{"schedule": ..., "lr": 0.2}``).
    ``common`` keyword arguments apply to every run. Progress shows as one bar over the runs
    (``tqdm.auto``) unless ``progress=False`` or ``LRLIB_PROGRESS=0``.
    """
    from . import runner

    runs = runner.grid(recipes, seeds=seeds, budget=budget, **common)
    df = runner.run(runs, progress=progress)
    return runner.histories(df)


# --------------------------------------------------------------------------- statistics
def _t_quantile(df: int, confidence: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


@dataclass(frozen=True)
class Stats:
    """Mean, sample standard deviation and t-interval half-width (95% by default) of a few values."""

    mean: float
    std: float
    ci: float
    n: int
    values: tuple[float, ...]
    null: ClassVar[float] = 0.0  # the value "no difference" takes (see verdict)

    @property
    def lo(self) -> float:
        """Lower end of the interval."""
        return self.mean - self.ci

    @property
    def hi(self) -> float:
        """Upper end of the interval."""
        return self.mean + self.ci

    def format(self, scale: float = 1.0, digits: int = 1, signed: bool = False) -> str:
        """``"mean [lo, hi]"`` (scaled), or just the mean when there is no interval (one seed)."""
        from .report import _num  # rounds first, so no "-0.0"

        if not math.isfinite(self.mean):
            return "not finite (a run diverged)"
        if math.isnan(self.ci):
            return _num(self.mean * scale, digits, signed)
        return (f"{_num(self.mean * scale, digits, signed)} [{_num(self.lo * scale, digits, signed)}, "
                f"{_num(self.hi * scale, digits, signed)}]")


@dataclass(frozen=True)
class Ratio:
    """A paired ratio ``a / b`` for positive, skewed metrics such as losses: the geometric mean of
    the per-seed ratios with a t-interval computed on the log scale (95% by default), so the
    interval is ``[ratio / k, ratio * k]`` and never crosses zero.

    ``mean`` is the ratio, ``ci`` the half-width on the log scale (NaN with one seed); ``lo`` and
    ``hi`` are on the ratio scale. "No difference" is 1 (see :func:`verdict`)."""

    mean: float
    ci: float
    n: int
    values: tuple[float, ...]
    null: ClassVar[float] = 1.0

    @property
    def lo(self) -> float:
        """Lower end of the interval (ratio scale)."""
        return self.mean * math.exp(-self.ci) if math.isfinite(self.ci) else math.nan

    @property
    def hi(self) -> float:
        """Upper end of the interval (ratio scale)."""
        return self.mean * math.exp(self.ci) if math.isfinite(self.ci) else math.nan

    def format(self, digits: int = 2) -> str:
        """``"×0.62 [0.55, 0.70]"``, or just ``"×0.62"`` with one seed. Between 0.1 and 10 a number
        gets ``digits`` decimals; further from 1 it keeps ``digits`` significant figures
        (``"×0.0042 [0.00070, 0.025]"``, ``"×239 [40, 1431]"``), so no ratio prints as 0.00."""
        if not (math.isfinite(self.mean) and self.mean > 0):
            return "not finite (a run diverged)"
        if math.isnan(self.ci):
            return f"×{_ratio_text(self.mean, digits)}"
        return (f"×{_ratio_text(self.mean, digits)} [{_ratio_text(self.lo, digits)}, "
                f"{_ratio_text(self.hi, digits)}]")


def _ratio_text(x: float, digits: int) -> str:
    """A positive ratio for a table: ``digits`` decimals in [0.1, 10), else ``digits``
    significant figures (whole numbers from 10**digits up)."""
    if not math.isfinite(x) or x <= 0:
        return f"{x:g}"
    if 0.1 <= x < 10:
        return f"{x:.{digits}f}"
    if x >= 10:
        return f"{x:.{max(0, digits - int(math.floor(math.log10(x))))}f}"
    return f"{x:.{digits}g}" if x >= 1e-4 else f"{x:.{digits}e}"


def verdict(d: Stats | Ratio, higher_is_better: bool = True) -> str:
    """Words for a paired difference ``d`` (from :func:`paired_difference`) or ratio.

    ``"better by more than seed noise"`` / ``"worse by more than seed noise"`` when the interval
    excludes "no difference" (0 for a difference, 1 for a ratio), ``"within seed noise"`` when it
    contains it, and a plain statement when there is one seed (no interval) or a run diverged.
    Chapters glue this string, so the prose stays true whatever the numbers come out as.
    """
    if not math.isfinite(d.mean) or (isinstance(d, Ratio) and d.mean <= 0):
        return "not comparable (a run diverged)"
    if math.isnan(d.ci):
        return "measured on one seed only, so no noise estimate"
    if d.lo > d.null:
        return "better by more than seed noise" if higher_is_better else "worse by more than seed noise"
    if d.hi < d.null:
        return "worse by more than seed noise" if higher_is_better else "better by more than seed noise"
    return "within seed noise"


def stats(values: Iterable[float], confidence: float = 0.95) -> Stats:
    """:class:`Stats` of ``values`` with a Student-t interval (``ci`` is NaN for a single value)."""
    v = tuple(float(x) for x in values)
    if not v:
        raise ValueError("values must not be empty")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n = len(v)
    mean = math.fsum(v) / n
    if n < 2:
        return Stats(mean, math.nan, math.nan, n, v)
    if not all(math.isfinite(x) for x in v):  # a diverged run: no interval, and format() says so
        return Stats(mean, math.nan, math.nan, n, v)
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in v) / (n - 1))
    return Stats(mean, std, _t_quantile(n - 1, confidence) * std / math.sqrt(n), n, v)


def ratio_stats(a: Iterable[float], b: Iterable[float], confidence: float = 0.95) -> Ratio:
    """:class:`Ratio` of paired positive values ``a[i] / b[i]`` (a t-interval of the log ratios).

    >>> ratio_stats([0.5, 1.0, 2.0], [1.0, 2.0, 4.0]).format()
    '×0.50 [0.50, 0.50]'
    >>> verdict(ratio_stats([0.5, 1.0, 2.0], [1.0, 2.0, 4.0]), higher_is_better=False)
    'better by more than seed noise'
    """
    pairs = list(zip((float(x) for x in a), (float(y) for y in b)))
    if not pairs:
        raise ValueError("values must not be empty")
    ratios = tuple(x / y if y > 0 and math.isfinite(y) else math.nan for x, y in pairs)
    if not all(math.isfinite(r) and r > 0 for r in ratios):
        return Ratio(math.nan, math.nan, len(pairs), ratios)
    logs = stats((math.log(r) for r in ratios), confidence)
    return Ratio(math.exp(logs.mean), logs.ci, logs.n, ratios)


METRICS: dict[str, Any] = {
    "val_acc": lambda h: h.final_val_acc,
    "best_val_acc": lambda h: h.best_val_acc,
    "train_loss": lambda h: h.final_train_loss,
    "train_acc": lambda h: h.final_train_acc,
    "val_loss": lambda h: h.final_val_loss,
    "diverged": lambda h: float(h.diverged),
    "stalled": lambda h: float(h.stalled),
    "wall_time": lambda h: h.wall_time,
}
"""Final metrics of a :class:`History`, by the names the runner's DataFrame uses as columns."""


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    return metric


def summarize(results: Mapping[str, list[History]], metric: str = "val_acc") -> dict[str, Stats]:
    """``{name: Stats}`` of a final ``metric`` across seeds: one of ``val_acc``, ``best_val_acc``,
    ``train_loss`` (full pass, final weights), ``train_acc``, ``val_loss``, ``diverged``,
    ``stalled``, ``wall_time``."""
    _check_metric(metric)
    return {name: stats(METRICS[metric](h) for h in hs) for name, hs in results.items()}


def paired_difference(results: Mapping[str, list[History]], a: str, b: str,
                      metric: str = "val_acc") -> Stats:
    """Stats of ``metric(a) - metric(b)`` paired by seed (same init and data order).

    If ``lo <= 0 <= hi`` the difference is within seed noise at 95%.
    """
    from .runner import frame, paired

    _check_metric(metric)
    return paired(frame(results), a, b, metric)


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
    """A small table (a :class:`pandas.DataFrame` underneath, in ``.frame``) that shows as HTML in
    notebooks and as aligned text elsewhere."""

    def __init__(self, header: list[str], rows: list[list[Any]]) -> None:
        import pandas as pd

        self.header, self.rows = list(header), [list(r) for r in rows]
        self.frame = pd.DataFrame([[str(c) for c in r] for r in self.rows], columns=self.header)

    def __str__(self) -> str:
        return self.frame.to_string(index=False)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, border=0)


def results_table(results: Mapping[str, list[History]], baseline: str | None = None) -> Table:
    """Final validation accuracy and full-pass training loss per recipe (mean ± 95% CI over
    seeds), diverged and stalled runs, and, against ``baseline``, the paired difference in
    accuracy and the paired ratio of training losses (see :func:`lrlib.runner.comparison`)."""
    from .runner import comparison, frame

    if baseline is not None and baseline not in results:
        raise ValueError(f"baseline must be one of {sorted(results)}, got {baseline!r}")
    shown = comparison(frame(results), baseline=baseline, formatted=True)
    return Table(["schedule", *shown.columns], [[name, *row] for name, row in zip(shown.index, shown.values.tolist())])
