"""The runner for the book's experiments: grids of runs, cached on disk, dispatched through an Executor.

A :class:`Run` is one training run, described completely: schedule, peak LR, seed, budget, optimizer
settings, device, precision and thread count. :func:`grid` builds the runs of an experiment;
:func:`run` trains the ones the disk cache does not already hold and returns a tidy
:class:`pandas.DataFrame`, one row per run, whose ``history`` column holds each run's
:class:`~lrlib.train.History`. The statistics helpers (:func:`summary`, :func:`paired`,
:func:`ratio`, :func:`best_lr`, :func:`comparison`) work on that DataFrame.

A chapter sweeps three peak LRs for two schedules over three seeds, keeps each schedule at its best
LR and compares the two, paired by seed::

    from lrlib import runner
    runs = runner.grid({"constant": None, "cosine": lrlib.Cosine(budget.total_steps)},
                       lrs=[0.02, 0.05, 0.1], seeds=[0, 1, 2], budget=budget)
    df = runner.run(runs)                       # trains what the cache lacks
    best = runner.best_lr(df, "train_loss")     # each schedule at its own best peak LR
    runner.comparison(best, baseline="constant", formatted=True)

The cache lives in ``$LRLIB_CACHE`` (default ``~/.cache/lrlib/runs``; ``LRLIB_CACHE=off`` turns it
off). Every entry is a JSON file named by :meth:`Run.key`, holding the full configuration next to the
history; it is checked on every read, so an entry is never served for another configuration, and a
corrupt or half-written entry is ignored and retrained. Deleting the folder is always safe.

Runs go to any :class:`concurrent.futures.Executor`: by default they train one after another in
this process; :func:`process_executor` gives a local process pool, and a Dask cluster's
``client.get_executor()`` takes the same grid unchanged. pandas, scipy and tqdm are imported on
first use.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import torch

from ._checks import check_choice, check_int, check_real
from .models import model_name
from .plateau import Plateau
from .schedules import Constant, Schedule
from .train import (LABEL_NOISE_SEED, METRICS, Budget, History, Ratio, Stats, fit, fit_stacked, get_budget, pick_device,
                    ratio_stats, resolve_precision, stats, uses_channels_last, verdict)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["HARNESS_VERSION", "OPTIMIZERS", "Run", "grid", "run", "execute", "SerialExecutor", "process_executor",
           "RunCache", "default_cache_dir", "default_threads", "stack_signature", "histories", "frame",
           "summary", "paired", "ratio", "best_lr", "by_lr", "comparison"]

HARNESS_VERSION = 2

OPTIMIZERS = ("sgd", "adam", "rmsprop", "schedulefree-sgd", "schedulefree-adamw")
"""The optimizers a :class:`Run` can train with."""
"""Version of the training loop's arithmetic; part of every cache key. Bump it whenever a change to
the harness (loop, evaluation, data pipeline, models) changes what a run computes."""

CACHE_FORMAT = 1


def default_threads() -> int:
    """``$LRLIB_THREADS`` if set, else torch's current intra-op thread count.

    On a machine shared with other busy processes, one thread per run is often much faster than
    two (threads that wait for each other lose their time slices): set ``LRLIB_THREADS=1`` there."""
    return _env_count("LRLIB_THREADS", torch.get_num_threads())


def _env_count(name: str, default: int) -> int:
    """The positive integer in ``$name``, ``default`` when it is unset or empty."""
    env = os.environ.get(name, "").strip()
    if not env:
        return default
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {env!r}")
    return value


def _config_of(name: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        return value.to_config()
    except Exception as e:  # a user-made Schedule subclass that is not a dataclass, for instance
        raise ValueError(f"{name} must support to_config() (lrlib schedules do) so that the run has a "
                         f"cache key; got {value!r:.200} ({e})") from None


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --------------------------------------------------------------------------- runs
@dataclasses.dataclass(frozen=True, init=False)
class Run:
    """One training run, described completely (what :func:`lrlib.train.fit` trains).

    Args:
        name: a label for tables and plots (default: the schedule's repr). Not part of the cache key.
        schedule: a :class:`~lrlib.Schedule`, a :class:`~lrlib.Plateau` or ``None`` (constant LR).
        lr: the base (peak) learning rate.
        seed: fixes the initial weights and the batch order (the same for every schedule).
        budget: a :class:`~lrlib.train.Budget` or its name (default: :func:`~lrlib.train.get_budget`).
        epochs: default: the budget's.
        optimizer: one of :data:`OPTIMIZERS`: ``"sgd"`` (with momentum), ``"adam"`` (AdamW),
            ``"rmsprop"``, or the schedule-free ``"schedulefree-sgd"`` / ``"schedulefree-adamw"``
            of the ``schedulefree`` package (evaluated at their averaged weights).
        momentum: SGD or RMSprop momentum, or AdamW's beta1.
        weight_decay: L2 penalty (SGD, RMSprop) or decoupled weight decay (AdamW).
        body_lr: the body's LR as a fraction of ``lr``: with a value other than 1 the classifier
            head (the last layer) and the body form two parameter groups, and the one schedule
            scales both (the LR recorded is the head's).
        snapshots: optimizer steps (``1..steps``) after which the validation set is scored and
            the softmax averaged over the snapshots so far (a snapshot ensemble): recorded in
            :attr:`History.snapshots <lrlib.train.History.snapshots>`.
        momentum_schedule: optional absolute momentum per step, inside ``[0, 1)``.
        warmup: with a Plateau only, a warmup schedule multiplied in.
        device: default :func:`~lrlib.train.pick_device` (``$LRLIB_DEVICE``, else cuda, mps, cpu).
        precision: ``"fp32"`` or ``"bf16"`` (bfloat16 autocast); default
            :func:`~lrlib.train.resolve_precision` (``$LRLIB_PRECISION``, else bf16 where it is fast).
        threads: CPU intra-op threads while the run trains (default: :func:`default_threads`;
            ``None`` off the CPU). Results depend on it bit for bit, so it is part of the run.

    Every argument is validated (``ValueError``/``TypeError`` naming it) and stored resolved:
    ``budget`` as a :class:`~lrlib.train.Budget`, ``epochs`` as a number, and ``device``,
    ``precision`` and ``threads`` as chosen in the process that makes the run, so a worker process
    or another machine trains exactly what the key names.
    """

    name: str
    schedule: Schedule | Plateau | None
    lr: float
    seed: int
    budget: Budget
    epochs: int
    optimizer: str
    momentum: float
    weight_decay: float
    momentum_schedule: Schedule | None
    warmup: Schedule | None
    device: str
    precision: str
    threads: int | None
    body_lr: float
    snapshots: tuple[int, ...]

    def __init__(self, name: str | None = None, schedule: Schedule | Plateau | None = None, lr: float = 0.05,
                 seed: int = 0, budget: Budget | str | None = None, epochs: int | None = None,
                 optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
                 momentum_schedule: Schedule | None = None, warmup: Schedule | None = None,
                 device: str | torch.device | None = None, precision: str | None = None,
                 threads: int | None = None, body_lr: float = 1.0, snapshots: Sequence[int] = ()) -> None:
        if schedule is not None and not isinstance(schedule, (Schedule, Plateau)):
            raise TypeError(f"schedule must be an lrlib Schedule, a Plateau or None, got {type(schedule).__name__}")
        if momentum_schedule is not None and not isinstance(momentum_schedule, Schedule):
            raise TypeError("momentum_schedule must be an lrlib Schedule or None, got "
                            f"{type(momentum_schedule).__name__}")
        if warmup is not None:
            if not isinstance(schedule, Plateau):
                raise ValueError("warmup applies to a Plateau schedule only; wrap other schedules in lrlib.Warmup")
            if not isinstance(warmup, Schedule):
                raise TypeError(f"warmup must be an lrlib Schedule or None, got {type(warmup).__name__}")
        if momentum_schedule is not None:
            lo, hi = momentum_schedule.bounds()
            if not (0.0 <= lo and hi < 1.0):
                raise ValueError(f"momentum_schedule must stay in [0, 1), but its values span [{lo}, {hi}]")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string, got {name!r}")
        b = budget if isinstance(budget, Budget) else get_budget(budget)
        dev = pick_device(device)
        values: dict[str, Any] = {
            "name": name or repr(schedule), "schedule": schedule,
            "lr": check_real("lr", lr, 0.0, None, lo_open=True), "seed": check_int("seed", seed, 0), "budget": b,
            "epochs": b.epochs if epochs is None else check_int("epochs", epochs, 1),
            "optimizer": check_choice("optimizer", optimizer, OPTIMIZERS),
            "momentum": check_real("momentum", momentum, 0.0, 1.0, hi_open=True),
            "weight_decay": check_real("weight_decay", weight_decay, 0.0, None),
            "momentum_schedule": momentum_schedule, "warmup": warmup, "device": str(dev),
            "precision": resolve_precision(dev, precision),
            "threads": (default_threads() if threads is None else check_int("threads", threads, 1))
            if dev.type == "cpu" else None,
            "body_lr": check_real("body_lr", body_lr, 0.0, None, lo_open=True),
        }
        epochs_ = values["epochs"]
        total = b.steps_per_epoch * epochs_
        if isinstance(snapshots, (str, bytes)) or not hasattr(snapshots, "__iter__"):
            raise ValueError(f"snapshots must be a sequence of steps, got {snapshots!r}")
        snaps = tuple(check_int(f"snapshots[{i}]", s, 1) for i, s in enumerate(snapshots))
        if list(snaps) != sorted(set(snaps)) or (snaps and snaps[-1] > total):
            raise ValueError(f"snapshots must be increasing steps within 1..{total}, got {snaps!r}")
        values["snapshots"] = snaps
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def channels_last(self) -> bool:
        """Whether the model and data use the channels-last layout (CPU and CUDA)."""
        return uses_channels_last(self.device)

    @property
    def steps(self) -> int:
        """Optimizer updates in this run."""
        return self.budget.steps_per_epoch * self.epochs

    def config(self) -> dict[str, Any]:
        """Everything that determines what this run computes, as plain JSON-able values.

        Covers the harness version, lrlib's and torch's versions, the data (dataset, split sizes,
        split seed, augmentation), the model (name, width), batch size, epochs, seed, the schedule's
        ``to_config()``, the LR, the optimizer (name, momentum, weight decay, momentum schedule), a
        Plateau's warmup, the device type, precision, memory layout and thread count. Labels (the
        run's name, the budget's name) are not in it: a run asked for under another name is the
        same run.
        """
        import lrlib

        b = self.budget
        return {
            "harness": HARNESS_VERSION, "lrlib": lrlib.__version__, "torch": torch.__version__,
            "data": {"dataset": b.dataset, "n_train": b.n_train, "n_val": b.n_val, "split_seed": 0,
                     "augment": b.augment, **({"label_noise": b.label_noise, "noise_seed": LABEL_NOISE_SEED} if b.label_noise else {})},
            "model": {"name": model_name(b.dataset), "width": b.width},
            "batch_size": b.batch_size, "epochs": self.epochs, "seed": self.seed,
            "schedule": _config_of("schedule", self.schedule), "lr": self.lr,
            "optimizer": {"name": self.optimizer, "momentum": self.momentum, "weight_decay": self.weight_decay,
                          "momentum_schedule": _config_of("momentum_schedule", self.momentum_schedule),
                          # only when used, so runs without them keep their cache keys
                          **({"body_lr": self.body_lr} if self.body_lr != 1.0 else {})},
            "warmup": _config_of("warmup", self.warmup),
            "device": torch.device(self.device).type, "precision": self.precision,
            "channels_last": self.channels_last, "threads": self.threads,
            **({"snapshots": list(self.snapshots)} if self.snapshots else {}),
        }

    def key(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`config`: the run's name in the disk cache."""
        return hashlib.sha256(_canonical(self.config()).encode("ascii")).hexdigest()

    def replace(self, **changes: Any) -> "Run":
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(Run))


def _make_run(**kwargs: Any) -> Run:
    unknown = sorted(set(kwargs) - set(_RUN_FIELDS))
    if unknown:
        raise ValueError(f"unknown run settings {unknown}; allowed: {sorted(_RUN_FIELDS)}")
    return Run(**kwargs)


def grid(recipes: Mapping[str, Schedule | Plateau | Mapping[str, Any] | None], lrs: Iterable[float] | None = None,
         seeds: Iterable[int] | None = None, budget: Budget | str | None = None, **common: Any) -> list[Run]:
    """The runs of an experiment: every recipe at every peak LR in ``lrs`` under every seed.

    Args:
        recipes: ``{name: recipe}``; a recipe is a schedule, a Plateau, ``None`` (constant) or a
            dict of :class:`Run` settings (``{"schedule": ..., "momentum": 0.8}``). A recipe that
            sets its own ``lr`` runs at that LR only, whatever ``lrs`` says.
        lrs: peak LRs to sweep; default: ``common["lr"]`` (or :class:`Run`'s default).
        seeds: default: the budget's seeds.
        budget: a :class:`~lrlib.train.Budget` or its name.
        common: :class:`Run` settings for every run (``momentum=0.9``, ``epochs=4``, ...).

    Seeds are the outer loop, so a partial grid holds whole seeds. For a given seed every run starts
    from the same initial weights and sees the batches in the same order.

    >>> import lrlib
    >>> runs = grid({"constant": None, "cosine": lrlib.Cosine(16)},
    ...             lrs=[0.05, 0.1], seeds=[0, 1], budget="smoke")
    >>> len(runs), runs[0].name, runs[0].lr, runs[-1].name, runs[-1].seed
    (8, 'constant', 0.05, 'cosine', 1)
    """
    budget = budget if isinstance(budget, Budget) else get_budget(budget)
    seeds = tuple(budget.seeds if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    seeds = tuple(check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(seeds))
    if not isinstance(recipes, Mapping) or not recipes:
        raise ValueError(f"recipes must be a non-empty mapping of name to schedule, got {recipes!r:.200}")
    if lrs is not None and "lr" in common:
        raise ValueError("give lr (one peak LR) or lrs (a sweep), not both")
    lr_list: list[float | None] = [None] if lrs is None else [check_real("lrs", x, 0.0, None, lo_open=True)
                                                             for x in lrs]
    if not lr_list:
        raise ValueError("lrs must hold at least one learning rate")
    for key in ("budget", "seed", "name"):
        if key in common or any(isinstance(r, Mapping) and key in r for r in recipes.values()):
            raise ValueError(f"{key} is set by grid itself (budget=..., seeds=..., the recipe names), "
                             "not by common settings or recipes")
    out: list[Run] = []
    for seed in seeds:
        for name, recipe in recipes.items():
            if not isinstance(name, str):
                raise ValueError(f"recipe names must be strings, got {name!r}")
            kwargs = dict(common)
            if isinstance(recipe, Mapping):
                kwargs.update(recipe)
            else:
                kwargs["schedule"] = recipe
            own_lr = isinstance(recipe, Mapping) and "lr" in recipe
            for lr in ([None] if own_lr else lr_list):
                if lr is not None:
                    kwargs["lr"] = lr
                out.append(_make_run(name=name, budget=budget, seed=seed, **kwargs))
    return out


def stack_signature(run: Run) -> tuple[Any, ...] | None:
    """What runs must share to be trained together by :func:`lrlib.train.fit_stacked`, or ``None``
    if this run cannot be stacked (a Plateau, a warmup, a non-SGD optimizer, two LR groups or
    snapshots)."""
    if (isinstance(run.schedule, Plateau) or run.warmup is not None or run.optimizer != "sgd"
            or run.body_lr != 1.0 or run.snapshots):
        return None
    b = run.budget
    return (b.dataset, b.n_train, b.n_val, b.batch_size, b.width, b.augment, b.label_noise, run.epochs, run.device,
            run.precision, run.threads)


def execute(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Train ``runs`` (one, or several stacked) and return their histories as plain dicts.

    This is what :func:`run` submits to the executor: a module-level function of picklable
    arguments that returns plain data, so any process or machine with lrlib installed can run it.
    """
    runs = tuple(runs)
    if len(runs) == 1:
        return [fit(runs[0]).to_dict()]
    return [h.to_dict() for h in fit_stacked(runs)]


class SerialExecutor(Executor):
    """The default executor: each submitted call runs at once, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        """Run ``fn(*args, **kwargs)`` now; return a finished :class:`~concurrent.futures.Future`."""
        fut: Future = Future()
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn(*args, **kwargs))
            except Exception as e:
                fut.set_exception(e)
        return fut


def process_executor(max_workers: int | None = None) -> Executor:
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` whose workers start fresh (``spawn``:
    no OpenMP state inherited through ``fork``). Each run sets its own thread count
    (:attr:`Run.threads`), so build the grid with ``threads=1`` when the workers share few cores."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"))


def _workers() -> int:
    """``$LRLIB_WORKERS``: how many local processes :func:`run` trains in by default (1: in this one)."""
    return _env_count("LRLIB_WORKERS", 1)


# --------------------------------------------------------------------------- the cache
def default_cache_dir() -> Path | None:
    """``$LRLIB_CACHE``, else ``~/.cache/lrlib/runs``; ``None`` when ``LRLIB_CACHE`` is ``off``."""
    env = os.environ.get("LRLIB_CACHE", "")
    if env.strip().lower() in ("off", "0", "false", "no", "none"):
        return None
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lrlib" / "runs"


class RunCache:
    """Finished runs on disk, one JSON file per :meth:`Run.key`: ``{format, key, config, history}``.

    * A read returns a :class:`~lrlib.train.History` only if the file parses, names the same key
      and stores exactly this run's :meth:`Run.config`; anything else (missing, half-written,
      corrupt, from another configuration) reads as a miss, and the run is trained again.
    * A write goes to a temporary file in the same folder and is renamed into place
      (``os.replace``), so a crash mid-write leaves no entry, only a stray ``.tmp`` file that reads
      ignore.
    * Deleting any entry, or the whole folder, is always safe.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"RunCache({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, run: Run, key: str | None = None) -> History | None:
        """The stored :class:`~lrlib.train.History` of ``run``, or ``None`` (a miss)."""
        key = key or run.key()
        try:
            text = self.path(key).read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            entry = json.loads(text)
            if entry["format"] != CACHE_FORMAT or entry["key"] != key:
                return None
            if _canonical(entry["config"]) != _canonical(run.config()):
                return None
            return History.from_dict(entry["history"])
        except Exception:  # corrupt or foreign: ignored, and overwritten after retraining
            return None

    def put(self, run: Run, history: History, key: str | None = None) -> Path:
        """Store ``history`` as ``run``'s entry (atomically) and return its path."""
        key = key or run.key()
        text = json.dumps({"format": CACHE_FORMAT, "key": key, "config": run.config(),
                           "history": history.to_dict()})
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:12]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return path

    def __contains__(self, run: object) -> bool:
        return isinstance(run, Run) and self.get(run) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("??/*.json")) if self.root.is_dir() else 0

    def clear(self) -> None:
        """Delete every entry (the folder itself)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _resolve_cache(cache: RunCache | str | os.PathLike[str] | bool | None) -> RunCache | None:
    if isinstance(cache, RunCache):
        return cache
    if cache is False:
        return None
    if cache is None or cache is True:
        root = default_cache_dir()
        return None if root is None else RunCache(root)
    if isinstance(cache, (str, os.PathLike)):
        return RunCache(cache)
    raise ValueError(f"cache must be a RunCache, a folder, True, False or None, got {cache!r}")


# --------------------------------------------------------------------------- running a grid
def _batches(todo: list[tuple[str, Run]], stack: int | None) -> list[list[tuple[str, Run]]]:
    """Group runs that can train together: up to ``stack`` per group (auto: 8 on CUDA, else 1)."""
    if stack is not None:
        check_int("stack", stack, 1)
    groups: dict[Any, list[tuple[str, Run]]] = {}
    out: list[list[tuple[str, Run]]] = []
    for item in todo:
        r = item[1]
        size = stack if stack is not None else (8 if torch.device(r.device).type == "cuda" else 1)
        sig = stack_signature(r) if size > 1 else None
        if sig is None:
            out.append([item])
            continue
        group = groups.setdefault(sig, [])
        group.append(item)
        if len(group) == size:
            out.append(group)
            groups[sig] = []
    out.extend(g for g in groups.values() if g)
    return out


def _relabel(h: History, r: Run, key: str | None) -> History:
    """A copy of ``h`` under this run's labels (cache entries are shared between names)."""
    h = History.from_dict(h.to_dict())
    h.name = r.name
    h.meta.update(budget=r.budget.name, schedule=repr(r.schedule), key=key)
    return h


def run(runs: Iterable[Run], *, executor: Executor | None = None,
        cache: RunCache | str | os.PathLike[str] | bool | None = None, progress: bool | None = None,
        stack: int | None = None) -> "pd.DataFrame":
    """Train every run the cache does not hold and return one row per run, in the order given.

    Args:
        runs: :class:`Run` objects, e.g. from :func:`grid`. Identical runs train once.
        executor: where runs train: default :class:`SerialExecutor` (here, one after another), or
            with ``$LRLIB_WORKERS`` > 1 a :func:`process_executor` of that many workers; any
            :class:`concurrent.futures.Executor` works, e.g. :func:`process_executor` or a Dask
            ``client.get_executor()``. Results come back to this process, which alone writes the
            cache.
        cache: a :class:`RunCache`, a folder, ``False`` (no cache), or ``None``/``True`` for
            :func:`default_cache_dir` (``$LRLIB_CACHE``).
        progress: a ``tqdm.auto`` bar over the runs; default on unless ``LRLIB_PROGRESS=0``.
        stack: train up to this many compatible runs at once as one stacked model
            (:func:`lrlib.train.fit_stacked`); default 8 for CUDA runs and 1 (off) elsewhere.

    Returns:
        A :class:`pandas.DataFrame` with columns ``name``, ``schedule`` (repr), ``lr``, ``seed``,
        ``budget``, ``epochs``, ``optimizer``, ``momentum``, ``weight_decay``, ``precision``,
        ``device``, ``threads``; final metrics ``train_loss`` and ``train_acc`` (a full pass over
        the training set with the final weights), ``val_loss``, ``val_acc``, ``best_val_acc``;
        ``wall_time`` (seconds of training, when it was trained), the flags ``diverged`` and
        ``stalled`` (see :class:`~lrlib.train.History`), ``cached`` (served from the cache),
        ``key`` and ``history`` (the :class:`~lrlib.train.History`; :func:`histories` groups them).
        ``df.attrs`` holds ``trained`` (runs trained by this call) and ``cache`` (the folder).
    """
    import pandas as pd

    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one Run")
    for i, r in enumerate(runs):
        if not isinstance(r, Run):
            raise ValueError(f"runs[{i}] must be a Run (see runner.grid), got {type(r).__name__}")
    store = _resolve_cache(cache)
    if progress is None:
        progress = os.environ.get("LRLIB_PROGRESS", "1") != "0"
    keys = [r.key() for r in runs]

    done: dict[str, History] = {}
    hits: set[str] = set()
    todo: list[tuple[str, Run]] = []
    for key, r in zip(keys, runs):
        if key in done or any(key == k for k, _ in todo):
            continue
        h = store.get(r, key) if store is not None else None
        if h is not None:
            done[key] = h
            hits.add(key)
        else:
            todo.append((key, r))

    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"training {len(todo)} run{'s' if len(todo) != 1 else ''} "
                   f"({len(hits)} cached)", leave=False)
    owned = None
    if executor is None and len(todo) > 1 and _workers() > 1:
        owned = executor = process_executor(min(_workers(), len(todo)))
    ex = executor if executor is not None else SerialExecutor()
    pending: dict[Future, list[tuple[str, Run]]] = {}

    def collect(fut: Future) -> None:
        batch = pending.pop(fut)
        for (key, r), d in zip(batch, fut.result()):
            h = History.from_dict(d)
            if store is not None:
                store.put(r, h, key)
            done[key] = h
            if bar is not None:
                bar.update(1)

    try:
        for batch in _batches(todo, stack):
            fut = ex.submit(execute, tuple(r for _, r in batch))
            pending[fut] = batch
            for f in [f for f in pending if f.done()]:  # the serial executor finishes at once
                collect(f)
        for f in as_completed(list(pending)):
            collect(f)
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
        if owned is not None:
            owned.shutdown(cancel_futures=True)

    rows = []
    for key, r in zip(keys, runs):
        h = _relabel(done[key], r, key)
        rows.append({
            "name": r.name, "schedule": repr(Constant() if r.schedule is None else r.schedule), "lr": r.lr,
            "seed": r.seed, "budget": r.budget.name, "epochs": r.epochs, "optimizer": r.optimizer,
            "momentum": r.momentum, "weight_decay": r.weight_decay, "precision": r.precision,
            "device": r.device, "threads": r.threads,
            **{m: float(METRICS[m](h)) for m in ("train_loss", "train_acc", "val_loss", "val_acc", "best_val_acc")},
            "wall_time": h.wall_time, "diverged": h.diverged, "stalled": h.stalled, "cached": key in hits,
            "key": key, "history": h,
        })
    df = pd.DataFrame(rows)
    df.attrs.update(trained=len(todo), cache=None if store is None else str(store.root))
    return df


# --------------------------------------------------------------------------- frames and statistics
def histories(df: "pd.DataFrame", by: str = "name") -> dict[str, list[History]]:
    """``{name: [History, ...]}`` from a :func:`run` DataFrame, in row order (the old
    :func:`lrlib.train.run_grid` result, which :mod:`lrlib.plots` draws)."""
    _need(df, "history")
    _need(df, by)
    out: dict[str, list[History]] = {}
    for name, h in zip(df[by], df["history"]):
        out.setdefault(name, []).append(h)
    return out


def frame(results: Mapping[str, Sequence[History]]) -> "pd.DataFrame":
    """A :func:`run`-style DataFrame (``name``, ``seed``, ``lr``, the final metrics, ``history``)
    from ``{name: [History, ...]}``, for the statistics helpers."""
    import pandas as pd

    rows = []
    for name, hs in results.items():
        for h in hs:
            rows.append({"name": name, "seed": h.seed, "lr": h.meta.get("lr", math.nan),
                         **{m: float(f(h)) for m, f in METRICS.items()},
                         "diverged": bool(h.diverged), "stalled": bool(h.stalled), "history": h})
    return pd.DataFrame(rows, columns=["name", "seed", "lr", *METRICS, "history"])


def _need(df: "pd.DataFrame", column: str, what: str = "column") -> None:
    if column not in df.columns:
        raise ValueError(f"{what} must be one of the DataFrame's columns {list(df.columns)}, got {column!r}")


def _metric(df: "pd.DataFrame", metric: str) -> None:
    if metric not in METRICS or metric not in df.columns:
        raise ValueError(f"metric must be one of {[m for m in METRICS if m in df.columns]}, got {metric!r}")


def _higher_is_better(metric: str) -> bool:
    return metric.endswith("acc")


def summary(df: "pd.DataFrame", metric: str = "val_acc", by: str | Sequence[str] = "name",
            confidence: float = 0.95) -> "pd.DataFrame":
    """Mean and t-interval of ``metric`` per group: columns ``n``, ``mean``, ``std``, ``ci`` (the
    half-width), ``lo``, ``hi``; one row per group, in order of first appearance."""
    import pandas as pd

    _metric(df, metric)
    cols = [by] if isinstance(by, str) else list(by)
    for c in cols:
        _need(df, c, "by")
    rows, index = [], []
    for key, g in df.groupby(cols, sort=False):
        s = stats(g[metric], confidence)
        index.append(key if len(cols) > 1 else key[0] if isinstance(key, tuple) else key)
        rows.append({"n": s.n, "mean": s.mean, "std": s.std, "ci": s.ci, "lo": s.lo, "hi": s.hi})
    idx = pd.MultiIndex.from_tuples(index, names=cols) if len(cols) > 1 else pd.Index(index, name=cols[0])
    return pd.DataFrame(rows, index=idx)


def _pairs(df: "pd.DataFrame", a: Any, b: Any, metric: str, by: str, on: str) -> "pd.DataFrame":
    _metric(df, metric)
    _need(df, by, "by")
    _need(df, on, "on")
    names = list(dict.fromkeys(df[by]))
    sides = []
    for arg, value in (("a", a), ("b", b)):
        rows = df[df[by] == value]
        if rows.empty:
            raise ValueError(f"{arg} must be one of the {by} values {names}, got {value!r}")
        if rows[on].duplicated().any():
            raise ValueError(f"{by}={value!r} has several rows per {on} (a sweep over lr?): keep one row per "
                             f"{on} first, e.g. with runner.best_lr(df)")
        sides.append(rows[[on, metric]])
    merged = sides[0].merge(sides[1], on=on, suffixes=("_a", "_b"))
    if merged.empty:
        raise ValueError(f"{a!r} and {b!r} share no {on}: nothing to pair")
    return merged


def paired(df: "pd.DataFrame", a: Any, b: Any, metric: str = "val_acc", *, by: str = "name", on: str = "seed",
           confidence: float = 0.95) -> Stats:
    """:class:`~lrlib.train.Stats` of ``metric(a) - metric(b)`` paired by ``on`` (the seed: same
    initial weights and data order), with a t-interval. Good for accuracies."""
    m = _pairs(df, a, b, metric, by, on)
    return stats(m[f"{metric}_a"] - m[f"{metric}_b"], confidence)


def ratio(df: "pd.DataFrame", a: Any, b: Any, metric: str = "train_loss", *, by: str = "name", on: str = "seed",
          confidence: float = 0.95) -> Ratio:
    """:class:`~lrlib.train.Ratio` ``metric(a) / metric(b)`` paired by seed: the geometric mean of
    the per-seed ratios with a t-interval of the log ratios. Suited to losses, which are positive
    and skewed (one bad seed can be many times worse)."""
    m = _pairs(df, a, b, metric, by, on)
    return ratio_stats(m[f"{metric}_a"], m[f"{metric}_b"], confidence)


def by_lr(df: "pd.DataFrame", metric: str = "train_loss", by: str = "name") -> "pd.DataFrame":
    """Mean of ``metric`` over seeds for every (``by``, ``lr``): one row per name, one column per
    LR. How sensitive each schedule is to its peak LR."""
    return summary(df, metric, by=[by, "lr"])["mean"].unstack("lr")


def best_lr(df: "pd.DataFrame", metric: str = "train_loss", by: str = "name") -> "pd.DataFrame":
    """The rows of ``df`` at each group's best peak LR: the LR with the lowest mean ``metric`` over
    seeds (highest for accuracies); ties go to the smaller LR. Diverged runs count as infinite
    loss (chance accuracy), so an LR that diverged on any seed loses to one that did not."""
    _need(df, "lr")
    means = summary(df, metric, by=[by, "lr"])["mean"]
    best = {}
    for name in dict.fromkeys(df[by]):
        m = means.xs(name, level=by).sort_index()
        m = m.fillna(-math.inf if _higher_is_better(metric) else math.inf)
        best[name] = m.idxmax() if _higher_is_better(metric) else m.idxmin()
    return df[[best[n] == lr for n, lr in zip(df[by], df["lr"])]]


def _pm(s: Stats, scale: float, digits: int) -> str:
    if not math.isfinite(s.mean):
        return "diverged"
    if math.isnan(s.ci):
        return f"{s.mean * scale:.{digits}f}"
    return f"{s.mean * scale:.{digits}f} ± {s.ci * scale:.{digits}f}"


def comparison(df: "pd.DataFrame", baseline: Any = None, *, by: str = "name", confidence: float = 0.95,
               formatted: bool = False) -> "pd.DataFrame":
    """One row per ``by`` group: runs, diverged and stalled counts, mean and interval of the final
    validation accuracy and full-pass training loss, and against ``baseline`` (paired by seed) the
    accuracy difference (``d_val_acc``, with ``lo``/``hi``) and the training-loss ratio
    (``train_loss_ratio``, with ``lo``/``hi``), each with its :func:`~lrlib.train.verdict`.

    Every group needs one row per seed (pick an LR first, e.g. with :func:`best_lr`). With
    ``formatted=True`` the cells are display strings (accuracy in %, differences in points,
    ratios as ``×0.62 [0.55, 0.70]``)."""
    import pandas as pd

    for c in (by, "seed", "val_acc", "train_loss", "diverged", "stalled"):
        _need(df, c)
    names = list(dict.fromkeys(df[by]))
    if baseline is not None and baseline not in names:
        raise ValueError(f"baseline must be one of the {by} values {names}, got {baseline!r}")
    dup = df.duplicated([by, "seed"])
    if dup.any():
        raise ValueError(f"several rows per {by} and seed (a sweep over lr?): keep one LR per {by} first, "
                         "e.g. with runner.best_lr(df)")
    rows, shown = [], []
    for name in names:
        g = df[df[by] == name]
        acc, loss = stats(g["val_acc"], confidence), stats(g["train_loss"], confidence)
        row: dict[str, Any] = {"runs": len(g), "diverged": int(g["diverged"].sum()),
                               "stalled": int(g["stalled"].sum()), "val_acc": acc.mean, "val_acc_ci": acc.ci,
                               "train_loss": loss.mean, "train_loss_ci": loss.ci}
        text = {"val. accuracy (%)": _pm(acc, 100, 1), "train loss (final weights)": _pm(loss, 1, 3)}
        if baseline is not None:
            if name == baseline:
                d, q = None, None
            else:
                d = paired(df, name, baseline, "val_acc", by=by, confidence=confidence)
                q = ratio(df, name, baseline, "train_loss", by=by, confidence=confidence)
            row.update({"d_val_acc": math.nan if d is None else d.mean, "d_val_acc_lo": math.nan if d is None else d.lo,
                        "d_val_acc_hi": math.nan if d is None else d.hi,
                        "val_acc_verdict": "" if d is None else verdict(d, higher_is_better=True),
                        "train_loss_ratio": math.nan if q is None else q.mean,
                        "train_loss_ratio_lo": math.nan if q is None else q.lo,
                        "train_loss_ratio_hi": math.nan if q is None else q.hi,
                        "train_loss_verdict": "" if q is None else verdict(q, higher_is_better=False)})
            text[f"Δ acc. vs {baseline} (points)"] = "—" if d is None else d.format(100, 1, signed=True)
            text[f"train loss ratio vs {baseline}"] = "—" if q is None else q.format(2)
        text["diverged"] = f"{row['diverged']}/{len(g)}"
        text["stalled"] = f"{row['stalled']}/{len(g)}"
        rows.append(row)
        shown.append(text)
    index = pd.Index(names, name=by)
    return pd.DataFrame(shown if formatted else rows, index=index)
