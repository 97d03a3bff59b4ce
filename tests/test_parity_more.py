"""The families beyond the seed five, against PyTorch's schedulers, Hugging Face's real schedule
functions, and the documented formulas of Keras, timm and optax."""
from __future__ import annotations

import math

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


@pytest.mark.parametrize("start,end,total", [(1 / 3, 1.0, 5), (1.0, 0.1, 700), (0.01, 1.0, 1000), (1.0, 0.0, 1200)])
def test_linear_lr(start, end, total):
    compare(lambda o: tls.LinearLR(o, start_factor=start, end_factor=end, total_iters=total),
            lrlib.Linear(start, end, total), rel=1e-7)


@pytest.mark.parametrize("total,power", [(1000, 1.0), (1200, 2.0), (500, 0.5)])
def test_polynomial_lr(total, power):
    compare(lambda o: tls.PolynomialLR(o, total_iters=total, power=power), lrlib.Polynomial(total, power=power),
            rel=1e-6)


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("total,pct", [(1200, 0.3), (1000, 0.25), (1500, 0.1)])
def test_one_cycle_lr_and_momentum(anneal, three_phase, total, pct):
    steps = min(STEPS, total)
    cyc = lrlib.OneCycle(total, pct_start=pct, shape={"cos": "cosine"}.get(anneal, anneal), three_phase=three_phase)
    mom = cyc.momentum(0.85, 0.95)
    for kind, key in [("sgd", "momentum"), ("adam", "betas")]:
        o1, o2 = make_optimizer(kind, groups=2), make_optimizer(kind, groups=2)
        maxes = [g["lr"] for g in o2.param_groups]
        ours = lr_trace(o1, lrlib.ScheduledLR(o1, cyc, momentum=mom), steps)
        theirs = lr_trace(o2, tls.OneCycleLR(o2, max_lr=maxes, total_steps=total, pct_start=pct, anneal_strategy=anneal,
                                             three_phase=three_phase), steps)
        assert_traces_equal(ours, theirs, rel=1e-9)
        o1, o2 = make_optimizer(kind), make_optimizer(kind)
        ours = lr_trace(o1, lrlib.ScheduledLR(o1, cyc, momentum=mom), steps, key)
        theirs = lr_trace(o2, tls.OneCycleLR(o2, max_lr=0.1, total_steps=total, pct_start=pct, anneal_strategy=anneal,
                                             three_phase=three_phase), steps, key)
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
        return tls.SequentialLR(o, [tls.ConstantLR(o, 0.1, total_iters=1000), tls.ExponentialLR(o, 0.99)], [20])
    ours = lrlib.Join([lrlib.Constant(0.1), lrlib.Exponential(0.99)], [20])
    compare(make_torch, ours, steps=600, groups=1, rel=1e-9)


# ----------------------------------------------------------------------------- Hugging Face (real code)
transformers = pytest.importorskip("transformers")


def _hf(fn, steps, **kw):
    o = make_optimizer(groups=2)
    return lr_trace(o, fn(o, **kw), steps)


def _ours(schedule, steps):
    o = make_optimizer(groups=2)
    return lr_trace(o, lrlib.ScheduledLR(o, schedule), steps)


@pytest.mark.parametrize("warm,total", [(0, 1000), (50, 1000), (200, 1200)])
def test_hf_linear_and_cosine_with_warmup(warm, total):
    from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    def with_warmup(main):
        return lrlib.Warmup(main, warm) if warm else main

    assert_traces_equal(_ours(with_warmup(lrlib.Linear(1.0, 0.0, total - warm)), STEPS),
                        _hf(get_linear_schedule_with_warmup, STEPS, num_warmup_steps=warm, num_training_steps=total))
    assert_traces_equal(_ours(with_warmup(lrlib.Cosine(total - warm)), total),
                        _hf(get_cosine_schedule_with_warmup, total, num_warmup_steps=warm, num_training_steps=total),
                        rel=1e-9, abs_=1e-12)


@pytest.mark.parametrize("warm,timescale", [(0, None), (100, None), (100, 500), (0, 50)])
def test_hf_inverse_sqrt(warm, timescale):
    from transformers.optimization import get_inverse_sqrt_schedule

    assert_traces_equal(_ours(lrlib.InverseSqrt(warm, timescale), STEPS),
                        _hf(get_inverse_sqrt_schedule, STEPS, num_warmup_steps=warm, timescale=timescale))


@pytest.mark.parametrize("warm,total,end,power", [(50, 1000, 0.0, 1.0), (0, 1000, 0.01, 2.0), (100, 900, 0.1, 0.5)])
def test_hf_polynomial_decay_with_warmup(warm, total, end, power):
    from transformers import get_polynomial_decay_schedule_with_warmup

    lr_init = 0.1  # HF's lr_end is absolute and applies to group 0's LR; use one group
    o1, o2 = make_optimizer(), make_optimizer()
    main = lrlib.Polynomial(total - warm, end=end, power=power)
    ours = lr_trace(o1, lrlib.ScheduledLR(o1, lrlib.Warmup(main, warm) if warm else main), STEPS)
    theirs = lr_trace(o2, get_polynomial_decay_schedule_with_warmup(o2, warm, total, lr_end=end * lr_init,
                                                                    power=power), STEPS)
    assert_traces_equal(ours, theirs, rel=1e-9)


def test_hf_constant_with_warmup():
    from transformers import get_constant_schedule_with_warmup

    assert_traces_equal(_ours(lrlib.Warmup(lrlib.Constant(), 100), STEPS),
                        _hf(get_constant_schedule_with_warmup, STEPS, num_warmup_steps=100))


def test_hf_wsd_schedule_linear_and_cosine():
    from transformers.optimization import get_wsd_schedule

    for shape, hf_type in [("linear", "linear"), ("cosine", "cosine"), ("1-sqrt", "1-sqrt")]:
        ours = _ours(lrlib.WSD(1000, warmup_steps=100, cooldown_steps=300, shape=shape), 1000)
        theirs = _hf(get_wsd_schedule, 1000, num_warmup_steps=100, num_decay_steps=300, num_training_steps=1000,
                     decay_type=hf_type, min_lr_ratio=0.0)
        assert_traces_equal(ours, theirs, rel=1e-9, abs_=1e-12)


# ----------------------------------------------------------------------------- Keras, timm, optax formulas
@pytest.mark.parametrize("step", [0, 1, 999, 1000, 1001, 2500, 10**6])
def test_keras_formulas(step):
    # InverseTimeDecay: lr / (1 + rate * step / decay_steps), floor with staircase
    assert lrlib.InverseTime(0.5, 1000)(step) == pytest.approx(1 / (1 + 0.5 * step / 1000))
    assert lrlib.InverseTime(0.5, 1000, staircase=True)(step) == pytest.approx(1 / (1 + 0.5 * (step // 1000)))
    # PolynomialDecay with cycle: decay_steps *= ceil(step / decay_steps) (at least 1)
    ds = 1000 * max(1, math.ceil(step / 1000))
    assert lrlib.Polynomial(1000, end=0.01, power=2.0, cycle=True)(step) == pytest.approx(
        (1 - 0.01) * (1 - step / ds) ** 2 + 0.01)
    # CosineDecay(alpha): (1 - alpha) * 0.5 * (1 + cos(pi * min(step, D) / D)) + alpha
    d = min(step, 1000)
    assert lrlib.Cosine(1000, 0.1)(step) == pytest.approx(0.9 * 0.5 * (1 + math.cos(math.pi * d / 1000)) + 0.1)
    # PiecewiseConstantDecay(boundaries=[100, 1000], values=[1, .5, .1]): value changes *after* a boundary
    pc = lrlib.Join([lrlib.Constant(1.0), lrlib.Constant(0.5), lrlib.Constant(0.1)], [101, 1001])
    assert pc(step) == (1.0 if step <= 100 else 0.5 if step <= 1000 else 0.1)


@pytest.mark.parametrize("t", [0, 3, 9, 10, 11, 40, 99, 100, 350, 1000])
def test_timm_cosine_with_cycles(t):
    # timm CosineLRScheduler(t_initial=100, cycle_mul=2, cycle_decay=0.5, lr_min=0.01*lr) per-step formula
    t_initial, mul, decay, lr_min = 100, 2, 0.5, 0.01
    i = math.floor(math.log(1 - t / t_initial * (1 - mul), mul))
    t_i = mul ** i * t_initial
    t_curr = t - (1 - mul ** i) / (1 - mul) * t_initial
    want = lr_min + 0.5 * (decay ** i - lr_min) * (1 + math.cos(math.pi * t_curr / t_i))
    assert lrlib.CosineRestarts(100, 2, cycle_decay=0.5, end=0.01)(t) == pytest.approx(want)


@pytest.mark.parametrize("t", [0, 5, 10, 11, 50, 99, 100, 150])
def test_optax_formulas(t):
    # warmup_cosine_decay_schedule(init=0, peak=1, warmup_steps=10, decay_steps=100, end=0.05): the cosine
    # runs over decay_steps - warmup_steps after the linear warmup
    if t < 10:
        want = t / 10
    else:
        p = min(t - 10, 90) / 90
        want = 0.05 + (1 - 0.05) * 0.5 * (1 + math.cos(math.pi * p))
    assert lrlib.Warmup(lrlib.Cosine(90, 0.05), 10)(t) == pytest.approx(want)
    # exponential_decay(init=1, transition_steps=10, decay_rate=0.5, staircase=True)
    assert lrlib.Exponential(0.5, 10, staircase=True)(t) == pytest.approx(0.5 ** (t // 10))
    # piecewise_interpolate_schedule('linear', 1, {20: 2.0, 60: 0.5}) == PiecewiseLinear
    want = 1.0 if t <= 0 else (1 + (2 - 1) * min(t, 20) / 20 if t <= 20 else 2 + (1 - 2) * min(t - 20, 40) / 40) if t <= 60 else 1.0
    assert lrlib.PiecewiseLinear([0, 20, 60], [1.0, 2.0, 1.0])(t) == pytest.approx(want)


def test_per_param_group_base_lrs_share_one_schedule():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    o = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.01},
                         {"params": model[1].parameters(), "lr": 0.1}], lr=0.01, momentum=0.9)  # 10x head
    s = lrlib.ScheduledLR(o, lrlib.Warmup(lrlib.Cosine(100), 10))
    for t in range(120):
        body, head = (g["lr"] for g in o.param_groups)
        assert head == pytest.approx(10 * body, abs=1e-15)
        o.step(); s.step()
