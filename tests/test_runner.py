"""The runner: grids of runs, the disk cache (hits, misses, corrupt and half-written entries), executors
(in process, a local Dask cluster), the DataFrame and its statistics."""
from __future__ import annotations

import json
import math
import os
import time

import pytest
import torch

import lrlib
from lrlib import runner, train


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own cache folder (never the user's) and one thread per run."""
    monkeypatch.setenv("LRLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LRLIB_THREADS", os.environ.get("LRLIB_THREADS") or "1")
    monkeypatch.delenv("LRLIB_PRECISION", raising=False)


@pytest.fixture
def trained(monkeypatch):
    """Counts the runs actually trained (calls of lrlib.train.fit through the runner)."""
    calls: list[runner.Run] = []
    real = runner.fit

    def counting(run, progress=None):
        calls.append(run)
        return real(run, progress)

    monkeypatch.setattr(runner, "fit", counting)
    return calls


SMOKE = train.get_budget("smoke")


def _runs(**common):
    return runner.grid({"constant": None, "cosine": lrlib.Cosine(SMOKE.total_steps)}, seeds=[0, 1],
                       budget=SMOKE, **common)


# --------------------------------------------------------------------------- grid and Run
def test_grid_covers_recipes_lrs_and_seeds():
    runs = runner.grid({"constant": None, "cosine": lrlib.Cosine(16), "fixed": {"schedule": None, "lr": 0.3}},
                       lrs=[0.01, 0.1, 0.2], seeds=[0, 1], budget="smoke", momentum=0.8)
    assert len(runs) == 2 * (3 + 3 + 1)
    assert [r.seed for r in runs[:7]] == [0] * 7  # seeds are the outer loop
    assert {r.lr for r in runs if r.name == "fixed"} == {0.3}  # a recipe's own lr wins over the sweep
    assert {r.lr for r in runs if r.name == "cosine"} == {0.01, 0.1, 0.2}
    assert all(r.momentum == 0.8 and r.budget == SMOKE and r.epochs == SMOKE.epochs for r in runs)
    assert len({r.key() for r in runs}) == len(runs)
    with pytest.raises(ValueError, match="lrs"):
        runner.grid({"c": None}, lrs=[0.1], lr=0.2, budget="smoke")
    with pytest.raises(ValueError, match="unknown run settings"):
        runner.grid({"c": None}, budget="smoke", momentun=0.9)
    with pytest.raises(ValueError, match="recipes"):
        runner.grid({}, budget="smoke")
    with pytest.raises(ValueError, match="seed is set by grid"):
        runner.grid({"c": {"seed": 3}}, budget="smoke")
    with pytest.raises(ValueError, match="lrs"):
        runner.grid({"c": None}, lrs=[0.0], budget="smoke")


def test_run_resolves_device_precision_and_threads_when_made():
    r = runner.Run(schedule=None, budget="smoke", seed=0)
    assert r.device == "cpu" and r.precision in ("fp32", "bf16") and r.threads == 1 and r.channels_last
    assert r.name == "None" and r.steps == SMOKE.total_steps
    assert runner.Run(budget="smoke", threads=2).key() != r.key()
    c = r.config()
    assert json.loads(json.dumps(c)) == c  # plain JSON
    assert c["lrlib"] == lrlib.__version__ and c["harness"] == runner.HARNESS_VERSION
    assert c["torch"] == torch.__version__ and c["model"] == {"name": "small_cnn", "width": SMOKE.width}
    assert runner.Run(budget="smoke", seed=3).replace(lr=0.2) == runner.Run(budget="smoke", seed=3, lr=0.2)
    with pytest.raises(ValueError, match="lr"):
        r.replace(lr=-1.0)
    os.environ["LRLIB_THREADS"] = "two"  # restored by the fixture's monkeypatch
    with pytest.raises(ValueError, match="LRLIB_THREADS"):
        runner.Run(budget="smoke")


# --------------------------------------------------------------------------- the DataFrame
def test_run_returns_one_tidy_row_per_run_with_histories(trained):
    runs = _runs(lr=0.05)
    df = runner.run(runs, progress=False)
    assert len(df) == len(runs) == len(trained) == 4 and df.attrs["trained"] == 4
    for col in ("name", "schedule", "lr", "seed", "budget", "precision", "train_loss", "val_loss", "val_acc",
                "best_val_acc", "wall_time", "diverged", "stalled", "cached", "key", "history"):
        assert col in df.columns, col
    assert list(df["name"]) == ["constant", "cosine"] * 2 and not df["cached"].any()
    row = df.iloc[1]
    h = row["history"]
    assert isinstance(h, train.History) and h.name == "cosine" and h.seed == 0
    assert row["train_loss"] == h.full_train_loss and row["val_acc"] == h.epoch_val_acc[-1]
    assert h.meta["key"] == row["key"] and h.meta["precision"] == row["precision"]
    hs = runner.histories(df)
    assert list(hs) == ["constant", "cosine"] and [x.seed for x in hs["cosine"]] == [0, 1]


def test_run_grid_is_a_wrapper_over_the_runner(trained):
    res = train.run_grid({"constant": None}, budget="smoke", seeds=[0, 1], lr=0.05, progress=False)
    assert [h.seed for h in res["constant"]] == [0, 1] and len(trained) == 2
    again = train.run_grid({"the same runs, renamed": None}, budget="smoke", seeds=[0, 1], lr=0.05, progress=False)
    assert len(trained) == 2  # shared through the cache, under the new name
    assert [h.name for h in again["the same runs, renamed"]] == ["the same runs, renamed"] * 2
    assert again["the same runs, renamed"][0].loss == res["constant"][0].loss


def test_identical_runs_in_one_call_train_once(trained):
    r = runner.Run("a", None, lr=0.05, budget="smoke")
    df = runner.run([r, r.replace(name="b")], cache=False, progress=False)
    assert len(trained) == 1 and list(df["name"]) == ["a", "b"]
    assert df.iloc[0]["history"].loss == df.iloc[1]["history"].loss


# --------------------------------------------------------------------------- the cache
def test_cache_hit_trains_nothing_the_second_time(trained, tmp_path):
    runs = _runs(lr=0.05)
    first = runner.run(runs, progress=False)
    n_first = len(trained)
    second = runner.run(runs, progress=False)
    assert n_first == 4 and len(trained) == n_first  # zero runs trained the second time
    assert second.attrs["trained"] == 0 and second["cached"].all()
    assert second.attrs["cache"] == str(tmp_path / "cache")
    cols = ["train_loss", "val_loss", "val_acc", "best_val_acc", "wall_time", "key"]
    assert first[cols].equals(second[cols])
    assert [h.loss for h in first["history"]] == [h.loss for h in second["history"]]
    # histories are stored as JSON, next to the configuration they belong to
    entry = json.loads(runner.RunCache(tmp_path / "cache").path(runs[0].key()).read_text())
    assert entry["key"] == runs[0].key() and entry["config"] == runs[0].config()
    assert entry["history"]["loss"] == first.iloc[0]["history"].loss


BASE = dict(name="x", schedule=lrlib.Cosine(16, end=0.1), lr=0.05, seed=0, budget="smoke", momentum=0.9,
            weight_decay=5e-4, precision="fp32")
CHANGES = {
    "lr": dict(lr=0.051),
    "seed": dict(seed=1),
    "schedule parameter": dict(schedule=lrlib.Cosine(16, end=0.2)),
    "schedule family": dict(schedule=lrlib.Constant()),
    "budget": dict(budget=train.Budget("smoke", "mnist5k", 512, 256, 2, 32, (0,), 8)),
    "epochs": dict(epochs=1),
    "momentum": dict(momentum=0.8),
    "weight decay": dict(weight_decay=0.0),
    "optimizer": dict(optimizer="adam"),
    "momentum schedule": dict(momentum_schedule=lrlib.Constant(0.85)),
    "precision": dict(precision="bf16"),
    "threads": dict(threads=2),
}


@pytest.mark.parametrize("change", list(CHANGES) + ["lrlib version", "harness version"])
def test_cache_misses_for_every_changed_setting(change, tmp_path, monkeypatch):
    cache = runner.RunCache(tmp_path / "c")
    base = runner.Run(**BASE)
    h = train.History("x", 0, loss=[1.0], epoch_val_acc=[0.5], epoch_train_loss=[1.0], full_train_loss=0.9)
    cache.put(base, h)
    old_key = base.key()
    assert cache.get(base).loss == [1.0]
    assert cache.get(base.replace(name="renamed")) is not None  # a label is not a setting: a hit
    if change == "lrlib version":
        monkeypatch.setattr(lrlib, "__version__", "9.9.9")
        other = base
    elif change == "harness version":
        monkeypatch.setattr(runner, "HARNESS_VERSION", runner.HARNESS_VERSION + 1)
        other = base
    else:
        other = runner.Run(**{**BASE, **CHANGES[change]})
    assert other.key() != old_key
    assert cache.get(other) is None
    assert cache.get(other, old_key) is None  # even when looked up under the old name


def test_an_entry_is_never_served_for_another_configuration(tmp_path):
    """Even if an entry sits under the right name, its stored config must match the run's exactly."""
    cache = runner.RunCache(tmp_path)
    a, b = runner.Run(**BASE), runner.Run(**{**BASE, "lr": 0.07})
    cache.put(b, train.History("b", 0, loss=[2.0]))
    os.makedirs(cache.path(a.key()).parent, exist_ok=True)
    os.replace(cache.path(b.key()), cache.path(a.key()))  # b's entry, misfiled under a's key
    assert cache.get(a) is None


def test_corrupt_entries_are_ignored_and_retrained(trained, tmp_path):
    runs = _runs(lr=0.05)[:2]
    runner.run(runs, progress=False)
    cache = runner.RunCache(tmp_path / "cache")
    p0, p1 = cache.path(runs[0].key()), cache.path(runs[1].key())
    p0.write_text(p0.read_text()[:100])  # half-written JSON
    p1.write_text('{"format": 1, "key": "nonsense", "history": 3}')  # valid JSON, wrong content
    assert cache.get(runs[0]) is None and cache.get(runs[1]) is None
    n = len(trained)
    df = runner.run(runs, progress=False)
    assert len(trained) == n + 2 and not df["cached"].any()
    assert cache.get(runs[0]) is not None and cache.get(runs[1]) is not None  # rewritten, valid again


def test_deleting_the_cache_is_safe(trained, tmp_path):
    import shutil

    runs = _runs(lr=0.05)
    runner.run(runs, progress=False)
    cache = runner.RunCache(tmp_path / "cache")
    assert len(cache) == 4
    cache.path(runs[2].key()).unlink()  # one entry
    df = runner.run(runs, progress=False)
    assert len(trained) == 5 and list(df["cached"]) == [True, True, False, True]
    shutil.rmtree(tmp_path / "cache")  # the whole folder
    df = runner.run(runs, progress=False)
    assert len(trained) == 9 and not df["cached"].any() and len(cache) == 4


def test_a_crash_mid_write_leaves_no_entry(tmp_path, monkeypatch):
    cache = runner.RunCache(tmp_path)
    r = runner.Run(**BASE)
    h = train.History("x", 0, loss=[1.0] * 1000)

    def crash(fd):
        raise KeyboardInterrupt  # the process dies after writing, before the rename

    monkeypatch.setattr(runner.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.put(r, h)
    monkeypatch.undo()
    assert cache.get(r) is None and len(cache) == 0
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # the temporary file is gone too
    # a process killed outright leaves a stray temporary file: reads ignore it
    stray = cache.path(r.key()).parent / f".{r.key()[:12]}-abc.tmp"
    stray.write_text('{"format": 1, "key": "')
    assert cache.get(r) is None and len(cache) == 0
    cache.put(r, h)
    assert cache.get(r).loss == h.loss and len(cache) == 1


def test_a_grid_that_crashes_halfway_keeps_what_finished(tmp_path, monkeypatch):
    runs = _runs(lr=0.05)
    real, calls = runner.fit, []

    def flaky(run, progress=None):
        calls.append(run)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(run, progress)

    monkeypatch.setattr(runner, "fit", flaky)
    with pytest.raises(RuntimeError, match="power cut"):
        runner.run(runs, progress=False)
    df = runner.run(runs, progress=False)
    assert list(df["cached"]) == [True, True, False, False] and len(calls) == 5


def test_cache_location_and_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("LRLIB_CACHE", str(tmp_path / "here"))
    assert runner.default_cache_dir() == tmp_path / "here"
    monkeypatch.setenv("LRLIB_CACHE", "off")
    assert runner.default_cache_dir() is None
    df = runner.run([runner.Run(schedule=None, lr=0.05, budget="smoke")], progress=False)
    assert df.attrs["cache"] is None and not (tmp_path / "here").exists()
    monkeypatch.delenv("LRLIB_CACHE")
    assert runner.default_cache_dir() == runner.Path.home() / ".cache" / "lrlib" / "runs"
    with pytest.raises(ValueError, match="cache"):
        runner.run([runner.Run(schedule=None, budget="smoke")], cache=3)


# --------------------------------------------------------------------------- executors and progress
def test_local_dask_cluster_gives_bit_identical_results(trained):
    distributed = pytest.importorskip("distributed")
    runs = _runs(lr=0.05)
    here = runner.run(runs, cache=False, progress=False)
    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        there = runner.run(runs, executor=client.get_executor(), cache=False, progress=False)
    elapsed = time.perf_counter() - start
    cols = ["name", "seed", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "best_val_acc", "key"]
    assert here[cols].equals(there[cols])  # the same final metrics, bit for bit
    for a, b in zip(here["history"], there["history"]):
        assert a.loss == b.loss and a.lr == b.lr and a.epoch_val_loss == b.epoch_val_loss
    assert len(trained) == 4  # in this process only the first time; the cluster trained the others
    assert elapsed < 60, elapsed


def test_process_pool_executor_gives_the_same_results():
    runs = _runs(lr=0.05)[:2]
    with runner.process_executor(max_workers=1) as ex:
        there = runner.run(runs, executor=ex, cache=False, progress=False)
    here = runner.run(runs, cache=False, progress=False)
    assert here["train_loss"].tolist() == there["train_loss"].tolist()
    assert [h.loss for h in here["history"]] == [h.loss for h in there["history"]]


def test_serial_executor_is_a_concurrent_futures_executor():
    ex = runner.SerialExecutor()
    assert ex.submit(pow, 2, 10).result() == 1024
    f = ex.submit(int, "x")
    assert isinstance(f.exception(), ValueError)


def test_progress_bar_only_when_asked(capsys, monkeypatch):
    r = runner.Run(schedule=None, lr=0.05, budget="smoke")
    monkeypatch.setenv("LRLIB_PROGRESS", "0")
    runner.run([r], cache=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LRLIB_PROGRESS", "1")
    runner.run([r], cache=False)
    assert "training 1 run (0 cached)" in capsys.readouterr().err


def test_stacked_runs_through_the_runner_interface(trained):
    runs = _runs(lr=0.05, precision="fp32")
    df = runner.run(runs, cache=False, progress=False, stack=2)
    alone = runner.run(runs, cache=False, progress=False, stack=1)
    assert [h.meta.get("stacked") for h in df["history"]] == [2, 2, 2, 2]
    assert len(trained) == 4  # only the unstacked call went through fit()
    assert df["train_loss"].tolist() == pytest.approx(alone["train_loss"].tolist(), rel=1e-3)
    with pytest.raises(ValueError, match="stack"):
        runner.run(runs, cache=False, progress=False, stack=0)


# --------------------------------------------------------------------------- statistics on DataFrames
def _frame(acc_a, acc_b, loss_a, loss_b):
    mk = lambda name, seed, acc, loss: train.History(name, seed, epoch_val_acc=[acc], epoch_train_loss=[loss],
                                                     full_train_loss=loss, meta={"lr": 0.1})
    return runner.frame({"a": [mk("a", i, x, y) for i, (x, y) in enumerate(zip(acc_a, loss_a))],
                         "b": [mk("b", i, x, y) for i, (x, y) in enumerate(zip(acc_b, loss_b))]})


def test_summary_paired_and_ratio():
    from scipy.stats import t

    df = _frame([0.90, 0.92, 0.94], [0.85, 0.88, 0.86], [0.10, 0.20, 0.40], [0.20, 0.40, 0.80])
    s = runner.summary(df, "val_acc")
    assert list(s.index) == ["a", "b"] and s.loc["a", "mean"] == pytest.approx(0.92)
    assert s.loc["a", "ci"] == pytest.approx(t.ppf(0.975, 2) * 0.02 / math.sqrt(3))
    d = runner.paired(df, "a", "b", "val_acc")
    assert d.mean == pytest.approx((0.05 + 0.04 + 0.08) / 3) and train.verdict(d) == "better by more than seed noise"
    q = runner.ratio(df, "a", "b", "train_loss")  # every seed halves the loss
    assert q.mean == pytest.approx(0.5) and q.lo == pytest.approx(0.5) and q.hi == pytest.approx(0.5)
    assert q.format() == "×0.50 [0.50, 0.50]"
    # ratios far from 1 keep significant figures instead of printing as 0.00
    tiny = runner.ratio(_frame([0.9] * 3, [0.9] * 3, [0.001, 0.001, 0.001], [0.239, 0.239, 0.239]), "a", "b")
    assert tiny.format() == "×0.0042 [0.0042, 0.0042]"
    assert train.Ratio(239.4, 0.0, 3, (239.4,) * 3).format() == "×239 [239, 239]"
    assert train.verdict(q, higher_is_better=False) == "better by more than seed noise"
    skewed = runner.ratio(_frame([0.9] * 3, [0.9] * 3, [0.1, 0.2, 5.0], [0.2, 0.2, 0.2]), "a", "b")
    assert skewed.lo < 1 < skewed.hi and train.verdict(skewed, False) == "within seed noise"
    with pytest.raises(ValueError, match="metric"):
        runner.paired(df, "a", "b", "f1")
    with pytest.raises(ValueError, match="must be one of"):
        runner.paired(df, "a", "zzz")


def test_best_lr_and_comparison():
    import pandas as pd

    rows = []
    for name, best in (("constant", 0.05), ("cosine", 0.1)):
        for lr in (0.02, 0.05, 0.1):
            for seed in range(3):
                loss = 0.2 + abs(lr - best) + 0.01 * seed + (0.0 if name == "cosine" else 0.05)
                rows.append({"name": name, "lr": lr, "seed": seed, "train_loss": loss, "val_acc": 1 - loss,
                             "diverged": False, "stalled": lr == 0.02})
    df = pd.DataFrame(rows)
    best = runner.best_lr(df, "train_loss")
    assert best.groupby("name")["lr"].unique().to_dict() == {"constant": [0.05], "cosine": [0.1]}
    assert runner.by_lr(df).shape == (2, 3)
    with pytest.raises(ValueError, match="best_lr"):
        runner.comparison(df, baseline="constant")  # three LRs per name and seed: pick one first
    table = runner.comparison(best, baseline="constant")
    assert table.loc["cosine", "train_loss_ratio"] == pytest.approx(0.21 / 0.26, rel=0.01)
    assert table.loc["cosine", "train_loss_verdict"] == "better by more than seed noise"
    shown = runner.comparison(best, baseline="constant", formatted=True)
    assert shown.loc["constant", "Δ acc. vs constant (points)"] == "—" and shown.loc["cosine", "stalled"] == "0/3"
    with pytest.raises(ValueError, match="baseline"):
        runner.comparison(best, baseline="nope")
