"""The families beyond the seed five against PyTorch's schedulers. The other libraries of the
translation table (Keras, timm, optax, Hugging Face) are checked in test_translation.py."""
from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as tls

import lrlib
from conftest import lr_trace, make_optimizer
from test_parity import assert_traces_equal, compare

STEPS = 1200


@pytest.mark.parametrize("factor,total", [(1 / 3, 5), (0.5, 100), (0.1, 1000)])
def test_constant_lr(factor, total):
    # ConstantLR = factor until total_iters, then 1: a Join of two constants
    s = lrlib.Join([lrlib.Constant(factor), lrlib.Constant(1.0)], [total])
    compare(lambda o: tls.ConstantLR(o, factor=factor, total_iters=total), s)


@pytest.mark.parametrize("start,end,total", [(1 / 3, 1.0, 5), (1.0, 0.1, 700), (0.01, 1.0, 1000),
                                             (1.0, 0.0, 1200)])
def test_linear_lr(start, end, total):
    compare(lambda o: tls.LinearLR(o, start_factor=start, end_factor=end, total_iters=total),
            lrlib.Linear(start, end, total), rel=1e-7)


@pytest.mark.parametrize("total,power", [(1000, 1.0), (1200, 2.0), (500, 0.5)])
def test_polynomial_lr(total, power):
    compare(lambda o: tls.PolynomialLR(o, total_iters=total, power=power),
            lrlib.Polynomial(total, power=power), rel=1e-6)


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("total,pct", [(1200, 0.3), (1000, 0.25), (1500, 0.1), (1337, 0.234)])
def test_one_cycle_lr_and_momentum(anneal, three_phase, total, pct):
    steps = min(STEPS, total)
    shape = {"cos": "cosine"}.get(anneal, anneal)
    cyc = lrlib.OneCycle(total, pct_start=pct, shape=shape, three_phase=three_phase)
    mom = cyc.momentum(0.85, 0.95)

    def torch_cycle(o, max_lr):
        return tls.OneCycleLR(o, max_lr=max_lr, total_steps=total, pct_start=pct, anneal_strategy=anneal,
                              three_phase=three_phase)

    for kind, key in [("sgd", "momentum"), ("adam", "betas")]:
        o1, o2 = make_optimizer(kind, groups=2), make_optimizer(kind, groups=2)
        maxes = [g["lr"] for g in o2.param_groups]
        ours = lr_trace(o1, lrlib.ScheduledLR(o1, cyc, momentum=mom), steps)
        theirs = lr_trace(o2, torch_cycle(o2, maxes), steps)
        assert_traces_equal(ours, theirs, rel=1e-9)
        o1, o2 = make_optimizer(kind), make_optimizer(kind)
        ours = lr_trace(o1, lrlib.ScheduledLR(o1, cyc, momentum=mom), steps, key)
        theirs = lr_trace(o2, torch_cycle(o2, 0.1), steps, key)
        assert_traces_equal(ours, theirs, rel=1e-9)


def test_one_cycle_clips_where_torch_raises():
    o = make_optimizer()
    t = tls.OneCycleLR(o, max_lr=0.1, total_steps=10)
    for _ in range(10):
        o.step(); t.step()
    with pytest.raises(ValueError):  # PyTorch refuses step 11 of a 10-step cycle
        o.step(); t.step()
    s = lrlib.OneCycle(10)
    assert s(9) == s(10) == s(10**6) == pytest.approx(1 / 25 / 1e4)


@pytest.mark.parametrize("T_0,T_mult,eta", [(10, 1, 0.0), (7, 2, 0.1), (50, 3, 0.0), (100, 1, 0.5)])
def test_cosine_warm_restarts(T_0, T_mult, eta):
    compare(lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=0.1 * eta),
            lrlib.CosineRestarts(T_0, T_mult, end=eta), groups=1, rel=1e-9)


@pytest.mark.parametrize("warm,total", [(5, 1200), (100, 1000), (300, 900)])
def test_sequential_lr_linear_warmup_then_cosine(warm, total):
    """SequentialLR(LinearLR, CosineAnnealingLR) == Join(Linear, Cosine): each piece starts at its step 0."""
    def make_torch(o):
        a = tls.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=warm)
        b = tls.CosineAnnealingLR(o, T_max=total - warm)
        return tls.SequentialLR(o, [a, b], milestones=[warm])

    ours = lrlib.Join([lrlib.Linear(0.01, 1.0, warm), lrlib.Cosine(total - warm)], [warm])
    compare(make_torch, ours, steps=total, groups=1, rel=1e-6)


def test_sequential_lr_exponential_pieces():
    def make_torch(o):
        pieces = [tls.ConstantLR(o, 0.1, total_iters=1000), tls.ExponentialLR(o, 0.99)]
        return tls.SequentialLR(o, pieces, [20])
    ours = lrlib.Join([lrlib.Constant(0.1), lrlib.Exponential(0.99)], [20])
    compare(make_torch, ours, steps=600, groups=1, rel=1e-9)


def test_per_param_group_base_lrs_share_one_schedule():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    o = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.01},
                         {"params": model[1].parameters(), "lr": 0.1}], lr=0.01, momentum=0.9)  # 10x head
    s = lrlib.ScheduledLR(o, lrlib.Warmup(lrlib.Cosine(100), 10))
    for t in range(120):
        body, head = (g["lr"] for g in o.param_groups)
        assert head == pytest.approx(10 * body, abs=1e-15)
        o.step(); s.step()
