"""The harness's optimizer options: RMSprop, schedule-free SGD/AdamW, two LR groups, snapshots."""
from __future__ import annotations

import math

import pytest
import torch

import lrlib
from lrlib import runner
from lrlib.train import fit, get_budget, make_optimizer
from lrlib.models import make_model

B = get_budget("smoke")
T = B.total_steps


def _run(**kw):
    base = dict(schedule=lrlib.Cosine(T), lr=0.05, budget=B, seed=0, threads=1, precision="fp32")
    base.update(kw)
    return runner.Run(**base)


def test_defaults_leave_the_cache_key_alone():
    cfg = _run().config()
    assert "snapshots" not in cfg and "body_lr" not in cfg["optimizer"]
    assert _run(body_lr=0.5).key() != _run().key() != _run(snapshots=(T,)).key()


@pytest.mark.parametrize("bad", [{"optimizer": "lion"}, {"body_lr": 0.0}, {"snapshots": (0,)},
                                 {"snapshots": (T + 1,)}, {"snapshots": (3, 2)}, {"snapshots": "12"}])
def test_bad_options_are_refused_by_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        _run(**bad)


def test_optimizer_classes_and_two_groups():
    model = make_model(B.dataset, B.width)
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    for name, cls in kinds.items():
        assert type(make_optimizer(_run(optimizer=name), model)) is cls
    opt = make_optimizer(_run(body_lr=0.1), model)
    head, body = opt.param_groups
    assert head["lr"] == 0.05 and math.isclose(body["lr"], 0.005)
    assert [p.shape for p in head["params"]] == [p.shape for p in model[-1].parameters()]
    n = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def test_one_schedule_scales_both_groups():
    h = fit(_run(body_lr=0.1))
    assert h.lr[0] == 0.05 and math.isclose(h.lr[-1], 0.05 * lrlib.Cosine(T)(T - 1))


@pytest.mark.parametrize("name", ["schedulefree-sgd", "schedulefree-adamw"])
def test_schedule_free_trains_under_an_lrlib_warmup(name):
    import schedulefree

    lr = 0.2 if name.endswith("sgd") else 2e-3
    h = fit(_run(optimizer=name, lr=lr, schedule=lrlib.Warmup(lrlib.Constant(), 4)))
    assert not h.diverged and h.final_val_acc > 0.3  # chance is 0.1
    assert h.lr[:3] == [0.0, lr / 4, lr / 2] and h.lr[-1] == lr
    opt = make_optimizer(_run(optimizer=name, lr=lr), make_model(B.dataset, B.width))
    assert isinstance(opt, (schedulefree.SGDScheduleFree, schedulefree.AdamWScheduleFree))
    assert opt.param_groups[0]["train_mode"]  # ready to step


def test_schedule_free_is_scored_at_its_averaged_weights():
    """The validation score is that of the averaged sequence x (optimizer.eval()), which differs
    from the y sequence the gradients are taken at: a harness that forgot eval() scores y."""
    import schedulefree

    from lrlib.train import _evaluate, _data_for

    r = _run(optimizer="schedulefree-sgd", lr=0.2, schedule=None, epochs=1)
    h = fit(r)
    torch.manual_seed(r.seed)
    model = make_model(B.dataset, B.width)
    if r.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(r, model)
    data = _data_for(r)
    order = torch.Generator().manual_seed(r.seed)
    perm = torch.randperm(len(data.y_train), generator=order)
    for i in range(B.steps_per_epoch):
        idx = perm[i * B.batch_size:(i + 1) * B.batch_size]
        loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    y_loss, _ = _evaluate(model, data.x_val, data.y_val, _nullcast)
    opt.eval()
    x_loss, _ = _evaluate(model, data.x_val, data.y_val, _nullcast)
    assert isinstance(opt, schedulefree.SGDScheduleFree)
    assert math.isclose(h.final_val_loss, x_loss, rel_tol=1e-5) and not math.isclose(x_loss, y_loss, rel_tol=1e-3)


def _nullcast():
    import contextlib
    return contextlib.nullcontext()


def test_rmsprop_trains():
    h = fit(_run(optimizer="rmsprop", lr=1e-3, momentum=0.0))
    assert not h.diverged and h.final_val_acc > 0.3


def test_snapshots_score_each_model_and_their_average():
    h = fit(_run(snapshots=(T // 2, T)))
    first, last = h.snapshots
    assert [first["step"], last["step"]] == [T // 2, T]
    # one snapshot is its own ensemble; the last snapshot is the final model
    assert first["ensemble_val_acc"] == first["val_acc"]
    assert math.isclose(first["ensemble_val_loss"], first["val_loss"], rel_tol=1e-9)
    assert last["val_acc"] == h.final_val_acc
    assert math.isclose(last["val_loss"], h.final_val_loss, rel_tol=1e-4)
    # snapshots only observe: the training itself is unchanged
    assert fit(_run()).loss == h.loss


def test_snapshots_survive_the_cache(tmp_path):
    r = _run(snapshots=(T,))
    a = runner.run([r], cache=tmp_path)
    b = runner.run([r], cache=tmp_path)
    assert a.history[0].snapshots == b.history[0].snapshots != []


def test_label_noise_changes_that_fraction_of_training_labels_only():
    import dataclasses

    from lrlib.train import _data_for, noisy_labels

    y = torch.arange(1000) % 10
    z = noisy_labels(y, 0.2, 10)
    changed = z != y
    assert int(changed.sum()) == 200 and torch.equal(z, noisy_labels(y, 0.2, 10))
    assert int(z.min()) >= 0 and int(z.max()) <= 9
    noisy = dataclasses.replace(B, name="noisy", label_noise=0.25)
    plain = dataclasses.replace(B, name="clean", label_noise=0.0)
    clean, dirty = _data_for(_run(budget=plain)), _data_for(_run(budget=noisy))
    assert torch.equal(clean.y_val, dirty.y_val) and torch.equal(clean.x_train, dirty.x_train)
    assert int((clean.y_train != dirty.y_train).sum()) == round(0.25 * B.n_train)
    assert "label_noise" not in _run(budget=plain).config()["data"]
    # the noise is not the batch order of any run: with the noise drawn from a run's own seed, that
    # run saw every wrong label in its first batches
    from lrlib.train import LABEL_NOISE_SEED

    bad = (dirty.y_train != clean.y_train).cpu()
    k = int(bad.sum())
    def wrong_in_first_batches(seed: int) -> int:
        first = torch.randperm(B.n_train, generator=torch.Generator().manual_seed(seed))[:k]
        return int(bad[first].sum())

    assert wrong_in_first_batches(LABEL_NOISE_SEED) == k  # the collision this guards against
    assert max(wrong_in_first_batches(s) for s in range(200)) < k // 2
    assert _run(budget=noisy).config()["data"]["noise_seed"] == LABEL_NOISE_SEED
    # budget_data: what code outside the harness gets is what the runs train on
    from lrlib.train import budget_data

    assert torch.equal(budget_data(noisy).y_train, dirty.y_train.cpu())
    assert torch.equal(budget_data(plain).y_train, clean.y_train.cpu())
    assert _run(budget=noisy).config()["data"]["label_noise"] == 0.25
    with pytest.raises(ValueError, match="label_noise"):
        dataclasses.replace(B, label_noise=1.0)
