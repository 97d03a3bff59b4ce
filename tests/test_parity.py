"""lrlib against torch.optim.lr_scheduler: the same LR (and momentum) at every step, >= 1,000 steps."""
from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as tls

import lrlib
from conftest import lr_trace, make_optimizer

STEPS = 1200


def assert_traces_equal(a, b, rel=1e-9, abs_=1e-15):
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b)):
        for xi, yi in zip(x, y):
            assert math.isclose(xi, yi, rel_tol=rel, abs_tol=abs_), f"step {t}: lrlib {xi!r} != torch {yi!r}"


def compare(make_torch, schedule, steps=STEPS, groups=2, kind="sgd", momentum=None, key="lr", rel=1e-9):
    o1, o2 = make_optimizer(kind, groups=groups), make_optimizer(kind, groups=groups)
    ours = lr_trace(o1, lrlib.ScheduledLR(o1, schedule, momentum=momentum), steps, key)
    theirs = lr_trace(o2, make_torch(o2), steps, key)
    assert_traces_equal(ours, theirs, rel=rel)


@pytest.mark.parametrize("step_size,gamma", [(1, 0.99), (7, 0.5), (100, 0.1), (333, 0.9)])
def test_step_lr(step_size, gamma):
    compare(lambda o: tls.StepLR(o, step_size, gamma), lrlib.StepDecay(step_size, gamma))


@pytest.mark.parametrize("milestones,gamma", [([1], 0.1), ([10, 20, 300], 0.5), ([100, 500, 900, 1100], 0.3)])
def test_multistep_lr(milestones, gamma):
    compare(lambda o: tls.MultiStepLR(o, milestones, gamma), lrlib.MultiStep(milestones, gamma))


@pytest.mark.parametrize("gamma", [0.999, 0.99, 0.95])
def test_exponential_lr(gamma):
    # torch multiplies recursively, lrlib uses the closed form: equal to float rounding
    compare(lambda o: tls.ExponentialLR(o, gamma), lrlib.Exponential(gamma), rel=1e-9)


@pytest.mark.parametrize("t_max,min_factor", [(1200, 0.0), (1000, 0.1), (1500, 0.5), (50, 0.0)])
def test_cosine_annealing_lr(t_max, min_factor):
    # within T_max the two agree; past it PyTorch oscillates and lrlib clips (tested below)
    steps = min(STEPS, t_max + 1)
    compare(lambda o: tls.CosineAnnealingLR(o, t_max, eta_min=0.1 * min_factor), lrlib.Cosine(t_max, end=min_factor),
            steps=steps, groups=1, rel=1e-7)


def test_cosine_clips_past_the_end_where_torch_oscillates():
    s = lrlib.Cosine(100, 0.1)
    assert [s(t) for t in (100, 150, 200, 10**9)] == [0.1] * 4


@pytest.mark.parametrize("mode,gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.999)])
@pytest.mark.parametrize("up,down", [(100, None), (50, 150), (7, 3)])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_cyclic_lr_and_momentum(mode, gamma, up, down, kind):
    base, top = 0.01, 0.1
    cyc = lrlib.Cyclic(start=base / top, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)

    def make_torch(o):
        return tls.CyclicLR(o, base_lr=base, max_lr=top, step_size_up=up, step_size_down=down, mode=mode,
                            gamma=gamma, cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)

    def make_ours(o):
        for g in o.param_groups:  # lrlib's base LR is the peak; CyclicLR is given max_lr separately
            g["lr"] = top
        return lrlib.ScheduledLR(o, cyc, momentum=cyc.momentum(0.8, 0.9))

    o1, o2 = make_optimizer(kind, groups=1), make_optimizer(kind, groups=1)
    key = "betas" if kind == "adam" else "momentum"
    s1, s2 = make_ours(o1), make_torch(o2)
    ours = [(g["lr"], g[key][0] if key == "betas" else g[key]) for g in o1.param_groups]
    theirs = [(g["lr"], g[key][0] if key == "betas" else g[key]) for g in o2.param_groups]
    for t in range(STEPS):
        for (a_lr, a_m), (b_lr, b_m) in zip(ours, theirs):
            assert math.isclose(a_lr, b_lr, rel_tol=1e-9), (t, a_lr, b_lr)
            assert math.isclose(a_m, b_m, rel_tol=1e-9), (t, a_m, b_m)
        o1.step(); s1.step(); o2.step(); s2.step()
        ours = [(g["lr"], g[key][0] if key == "betas" else g[key]) for g in o1.param_groups]
        theirs = [(g["lr"], g[key][0] if key == "betas" else g[key]) for g in o2.param_groups]


def _metric_sequences():
    g = torch.Generator().manual_seed(0)
    noisy = (1.0 / torch.arange(1, 1201) + 0.02 * torch.rand(1200, generator=g)).tolist()
    stairs = [1.0] * 300 + [0.5] * 300 + [0.25] * 300 + [0.3] * 300
    rising = torch.rand(1200, generator=g).cumsum(0).tolist()
    with_nan = noisy[:500] + [float("nan")] * 5 + noisy[500:]
    return {"noisy": noisy, "stairs": stairs, "rising": rising, "with_nan": with_nan}


PLATEAU_CONFIGS = [
    dict(mode="min", factor=0.5, patience=3, threshold=1e-4, threshold_mode="rel", cooldown=0),
    dict(mode="min", factor=0.1, patience=0, threshold=0.01, threshold_mode="abs", cooldown=2),
    dict(mode="max", factor=0.7, patience=5, threshold=1e-3, threshold_mode="rel", cooldown=1),
    dict(mode="max", factor=0.3, patience=2, threshold=0.0, threshold_mode="abs", cooldown=0),
]


@pytest.mark.parametrize("seq_name", list(_metric_sequences()))
@pytest.mark.parametrize("cfg", PLATEAU_CONFIGS, ids=lambda c: f"{c['mode']}-{c['threshold_mode']}-p{c['patience']}")
@pytest.mark.parametrize("min_scale", [0.0, 0.01])
def test_reduce_on_plateau(seq_name, cfg, min_scale):
    seq = _metric_sequences()[seq_name]
    o1, o2 = make_optimizer(groups=2), make_optimizer(groups=2)
    base = [g["lr"] for g in o2.param_groups]
    ours = lrlib.PlateauLR(o1, lrlib.Plateau(**{k: v for k, v in cfg.items() if k != "factor"}, gamma=cfg["factor"], min_factor=min_scale, eps=0.0))
    theirs = tls.ReduceLROnPlateau(o2, **cfg, min_lr=[b * min_scale for b in base], eps=0.0)
    for t, m in enumerate(seq):
        ours.step(m)
        theirs.step(m)
        for g1, g2 in zip(o1.param_groups, o2.param_groups):
            assert math.isclose(g1["lr"], g2["lr"], rel_tol=1e-9, abs_tol=1e-300), (t, g1["lr"], g2["lr"])
    assert ours.state.num_bad == theirs.num_bad_epochs
    assert ours.state.cooldown == theirs.cooldown_counter
