"""The learning-rate range test: exact restore, stopping, suggestions, arguments."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from lrlib.lr_finder import LRFinderResult, find_lr


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                               torch.nn.Dropout(0.1), torch.nn.Linear(8, 3))


def _batches(n: int = 4, bs: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(bs, 6, generator=g), torch.randint(0, 3, (bs,), generator=g)) for _ in range(n)]


def _make_opt(kind: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    params = list(model.parameters())
    groups = [{"params": params[:2], "lr": 0.05}, {"params": params[2:], "lr": 0.005}]
    if kind == "sgd":
        return torch.optim.SGD(groups, momentum=0.9, weight_decay=1e-4)
    if kind == "adamw":
        return torch.optim.AdamW(groups, weight_decay=0.01)
    return torch.optim.Adam(groups)


def _warm(model: torch.nn.Module, opt: torch.optim.Optimizer, data) -> None:
    """A few real updates, so that momentum buffers and BN running stats are not trivial."""
    for x, y in data[:3]:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_state_restored_bit_exactly(kind):
    model, data = _net(), _batches()
    opt = _make_opt(kind, model)
    _warm(model, opt, data)
    model.eval()  # the mode must come back too
    opt.zero_grad(set_to_none=False)
    model[0].weight.grad.fill_(0.25)
    before_model = copy.deepcopy(model.state_dict())
    before_opt = copy.deepcopy(opt.state_dict())
    before_grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    res = find_lr(model, opt, data, F.cross_entropy, start_lr=1e-4, end_lr=1.0, steps=20)
    assert len(res.lrs) >= 2
    assert _same(model.state_dict(), before_model)
    assert _same(opt.state_dict(), before_opt)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005]
    if kind == "sgd":
        bufs = [opt.state[p]["momentum_buffer"] for p in model.parameters()]
        assert all(b is not None for b in bufs)
    for p, g in zip(model.parameters(), before_grads):
        assert _same(p.grad, g)
    assert not model.training and not any(m.training for m in model.modules())
    # and the optimizer keeps training the restored model exactly as it would have
    ref_model, x, y = copy.deepcopy(model), *data[0]
    ref_opt = _make_opt(kind, ref_model)
    ref_opt.load_state_dict(copy.deepcopy(before_opt))
    for m, o in ((model, opt), (ref_model, ref_opt)):
        o.zero_grad()
        torch.manual_seed(5)
        F.cross_entropy(m.train()(x), y).backward()
        o.step()
    assert _same(model.state_dict(), ref_model.state_dict())


def test_restored_even_when_the_loss_raises():
    model, data = _net(), _batches()
    opt = _make_opt("sgd", model)
    _warm(model, opt, data)
    before = copy.deepcopy(model.state_dict())
    calls = []

    def bad_loss(out, y):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("boom")
        return F.cross_entropy(out, y)

    with pytest.raises(RuntimeError, match="boom"):
        find_lr(model, opt, data, bad_loss, steps=10)
    assert _same(model.state_dict(), before)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005]


def test_every_group_scaled_by_its_ratio_and_data_cycled():
    model, data = _net(), _batches(n=3)
    opt = _make_opt("sgd", model)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append([g["lr"] for g in o.param_groups]))
    res = find_lr(model, opt, data, F.cross_entropy, start_lr=1e-5, end_lr=1e-3, steps=10,
                  diverge=1e9)
    assert res.stop_reason == "completed" and len(res.lrs) == 10  # 10 steps from 3 batches
    for (a, b), lr in zip(seen, res.lrs):
        assert a == pytest.approx(lr) and b == pytest.approx(lr / 10)
    assert res.lrs[0] == pytest.approx(1e-5) and res.lrs[-1] == pytest.approx(1e-3)
    ratios = [res.lrs[i + 1] / res.lrs[i] for i in range(9)]
    assert max(ratios) == pytest.approx(min(ratios))


def test_data_iterated_once_like_a_plain_loop():
    """One iterator per pass: a seeded DataLoader gives the same batches as a training loop."""
    class Counting:
        def __init__(self, batches):
            self.batches, self.iters = batches, 0

        def __iter__(self):
            self.iters += 1
            return iter(self.batches)

    model, data = _net(), Counting(_batches(n=5))
    find_lr(model, _make_opt("sgd", model), data, F.cross_entropy, steps=5, diverge=1e9)
    assert data.iters == 1
    find_lr(model, _make_opt("sgd", model), data, F.cross_entropy, steps=12, diverge=1e9)
    assert data.iters == 1 + 3


def test_linear_mode_spacing():
    model, data = _net(), _batches()
    res = find_lr(model, _make_opt("sgd", model), data, F.cross_entropy, start_lr=0.001,
                  end_lr=0.01, steps=10, mode="linear", diverge=1e9)
    gaps = [b - a for a, b in zip(res.lrs, res.lrs[1:])]
    assert res.mode == "linear"
    assert all(g == pytest.approx(0.001) for g in gaps)
    assert res.lrs[-1] == pytest.approx(0.01)


def _quadratic(n=256, d=5):
    """Linear regression: loss = mean((X w - y)^2), Hessian 2 X^T X / n, largest eigenvalue L.
    Full-batch SGD without momentum is stable for lr < 2 / L."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g) * torch.tensor([3.0, 1.0, 1.0, 0.5, 0.2])
    y = x @ torch.randn(d, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    L = float(torch.linalg.eigvalsh(2 * x.T @ x / n).max())
    model = torch.nn.Linear(d, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    return model, [(x, y)], 2.0 / L


@pytest.mark.parametrize("rule", ["steepest", "valley"])
def test_suggestion_inside_stable_region(rule):
    model, data, lr_max = _quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = find_lr(model, opt, data, F.mse_loss, start_lr=1e-5, end_lr=100.0, steps=120)
    lr, why = res.suggest(rule)
    assert lr_max / 100 < lr < lr_max, (lr, lr_max, why)
    assert rule.split()[0] in ("steepest", "valley") and isinstance(why, str) and why


def test_stops_on_divergence():
    model, data, lr_max = _quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = find_lr(model, opt, data, F.mse_loss, start_lr=1e-4, end_lr=1e4, steps=100)
    assert res.diverged and res.stop_reason.startswith("diverged")
    assert len(res.lrs) < 100 and res.steps == 100
    assert res.lrs[-1] > lr_max  # it stopped only past the edge of stability
    assert len(res.losses) == len(res.smoothed) == len(res.lrs)
    # and the non-finite case
    res = find_lr(model, opt, data, F.mse_loss, start_lr=1e-4, end_lr=1e30, steps=100,
                  smooth=0.0, diverge=1e300)
    assert res.diverged and len(res.lrs) < 100


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_works_with_sgd_and_adam_on_a_small_net(kind):
    model, data = _net(), _batches(n=8, bs=64)
    opt = _make_opt(kind, model)
    val = data[0]
    res = find_lr(model, opt, data, F.cross_entropy, start_lr=1e-5, end_lr=10.0, steps=60,
                  val_data=val)
    assert isinstance(res, LRFinderResult)
    assert len(res.val_losses) == len(res.lrs)
    for rule in ("steepest", "valley"):
        lr, _ = res.suggest(rule)
        assert res.lrs[0] <= lr <= res.lrs[-1]
    assert res.suggest("valley", on="val")[0] > 0
    with pytest.raises(dataclasses_frozen_error()):
        res.lrs = ()  # frozen


def dataclasses_frozen_error():
    import dataclasses
    return dataclasses.FrozenInstanceError


def test_val_data_as_iterable_and_plot():
    import matplotlib
    matplotlib.use("Agg")
    model, data = _net(), _batches()
    res = find_lr(model, _make_opt("sgd", model), data, F.cross_entropy, steps=30,
                  val_data=data[:2])
    assert all(math.isfinite(v) for v in res.val_losses[:5])
    ax = res.plot()
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize("kwargs, name", [
    ({"start_lr": 0}, "start_lr"), ({"start_lr": float("nan")}, "start_lr"),
    ({"end_lr": 1e-8}, "end_lr"), ({"steps": 1}, "steps"), ({"steps": 2.5}, "steps"),
    ({"steps": True}, "steps"), ({"mode": "log"}, "mode"), ({"smooth": 1.0}, "smooth"),
    ({"smooth": -0.1}, "smooth"), ({"diverge": 1.0}, "diverge"), ({"val_data": 3}, "val_data"),
    ({"device": "nonsense"}, "device"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    model, data = _net(), _batches()
    with pytest.raises(ValueError, match=name):
        find_lr(model, _make_opt("sgd", model), data, F.cross_entropy, **kwargs)


def test_bad_positional_arguments_and_rules():
    model, data = _net(), _batches()
    opt = _make_opt("sgd", model)
    with pytest.raises(ValueError, match="model"):
        find_lr(object(), opt, data, F.cross_entropy)
    with pytest.raises(ValueError, match="optimizer"):
        find_lr(model, object(), data, F.cross_entropy)
    with pytest.raises(ValueError, match="data"):
        find_lr(model, opt, 5, F.cross_entropy)
    with pytest.raises(ValueError, match="loss_fn"):
        find_lr(model, opt, data, "ce")
    with pytest.raises(ValueError, match="data"):  # a one-shot iterator that runs out
        find_lr(model, opt, iter(data), F.cross_entropy, steps=10)
    res = find_lr(model, opt, data, F.cross_entropy, steps=30)
    with pytest.raises(ValueError, match="rule"):
        res.suggest("minimum")
    with pytest.raises(ValueError, match="fraction"):
        res.suggest("valley", fraction=2)
    with pytest.raises(ValueError, match="on"):
        res.suggest(on="test")
    with pytest.raises(ValueError, match="val_data"):
        res.suggest(on="val")
    with pytest.raises(ValueError, match="skip_start"):
        res.suggest(skip_start=28)
