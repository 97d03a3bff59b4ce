"""Unit tests: values at known steps, clipping, repr/equality/pickle/config, and bad parameters."""
from __future__ import annotations

import json
import math
import pickle

import pytest

import lrlib

EXAMPLES = [
    lrlib.Constant(),
    lrlib.Constant(0.5),
    lrlib.StepDecay(10, 0.5),
    lrlib.MultiStep([5, 10, 30], 0.1),
    lrlib.Exponential(0.9),
    lrlib.Exponential(0.96, decay_steps=100, staircase=True),
    lrlib.Cosine(100),
    lrlib.Cosine(100, end=0.2),
    lrlib.Cyclic(0.1, 10),
    lrlib.Cyclic(0.1, 10, step_size_down=30, mode="triangular2"),
    lrlib.Cyclic(0.2, 5, mode="exp_range", gamma=0.99),
    lrlib.Cyclic(0.1, 10).momentum(0.85, 0.95),
    lrlib.Linear(1 / 3, 1.0, 50),
    lrlib.Polynomial(100, end=0.01, power=2.0, cycle=True),
    lrlib.InverseTime(0.5, 10, staircase=True),
    lrlib.InverseSqrt(100, timescale=400),
    lrlib.OneCycle(1000, pct_start=0.25, shape="linear", three_phase=True),
    lrlib.OneCycle(1000).momentum(0.8, 0.9),
    lrlib.CosineRestarts(10, 2, cycle_decay=0.5, end=0.01),
    lrlib.Join([lrlib.Linear(0.1, 1.0, 10), lrlib.Cosine(90)], [10]),
    lrlib.Warmup(lrlib.Exponential(0.99), 20, shape="exponential", start=0.01),
    lrlib.PiecewiseLinear([0, 10, 50], [0.1, 1.0, 0.0]),
    lrlib.Cooldown(30, "cosine", 0.8, 0.1),
    lrlib.WSD(1000, 200, 50, "1-sqrt"),
    lrlib.anytime_cooldown(lrlib.WSD(1000, 200, 50), 500, 100),
]


def test_every_schedule_class_is_exported_documented_and_exemplified():
    classes = {c for c in vars(lrlib).values() if isinstance(c, type) and issubclass(c, lrlib.Schedule)}
    classes.discard(lrlib.Schedule)
    covered = {type(s) for s in EXAMPLES} | {type(p) for s in EXAMPLES if isinstance(s, lrlib.Join)
                                             for p in s.schedules}
    assert classes <= covered, classes - covered
    for c in classes:
        doc = c.__doc__ or ""
        assert ":math:" in doc or ".. math::" in doc, f"{c.__name__} has no formula"
        assert any(w in doc for w in ("PyTorch", "Keras", "HF", "optax", "timm")) or c in (
            lrlib.Cooldown, lrlib.OneCycleMomentum), f"{c.__name__} names no equivalent"


@pytest.mark.parametrize("s", EXAMPLES, ids=repr)
def test_config_pickle_repr_equality(s):
    cfg = s.to_config()
    assert json.loads(json.dumps(cfg)) == cfg
    assert lrlib.from_config(cfg) == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert eval(repr(s), {**vars(lrlib)}) == s
    assert hash(s) == hash(lrlib.from_config(cfg))


def test_known_values():
    assert lrlib.StepDecay(10, 0.5)(9) == 1.0 and lrlib.StepDecay(10, 0.5)(10) == 0.5
    assert lrlib.StepDecay(10, 0.5)(25) == 0.25
    ms = lrlib.MultiStep([5, 10], 0.1)
    assert [ms(t) for t in (0, 4, 5, 9, 10, 1000)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    assert lrlib.Exponential(0.5, 10)(5) == pytest.approx(2 ** -0.5)
    assert lrlib.Exponential(0.5, 10, staircase=True)(19) == 0.5
    c = lrlib.Cosine(100, 0.2)
    assert c(0) == 1.0 and c(50) == pytest.approx(0.6) and c(100) == pytest.approx(0.2)
    cyc = lrlib.Cyclic(0.1, 10)
    assert cyc(0) == pytest.approx(0.1) and cyc(10) == pytest.approx(1.0) and cyc(20) == pytest.approx(0.1)
    assert cyc(5) == pytest.approx(0.55)
    tri2 = lrlib.Cyclic(0.0, 10, mode="triangular2")
    assert tri2(30) == pytest.approx(0.5) and tri2(50) == pytest.approx(0.25)


def test_momentum_mirrors_lr():
    cyc = lrlib.Cyclic(0.1, 10)
    mom = cyc.momentum(0.8, 0.9)
    assert mom(0) == pytest.approx(0.9) and mom(10) == pytest.approx(0.8)
    for t in range(40):  # momentum is an affine, decreasing function of the LR factor
        assert mom(t) == pytest.approx(0.9 - 0.1 * (cyc(t) - 0.1) / 0.9)


def test_steps_past_the_end_clip_and_never_crash():
    for s in EXAMPLES:
        v = s(10**12)
        assert math.isfinite(v)
        lo, hi = s.bounds()
        assert lo - 1e-12 <= v <= hi + 1e-12


BAD = [
    (lambda: lrlib.StepDecay(0), "step_size"),
    (lambda: lrlib.StepDecay(1.5), "step_size"),
    (lambda: lrlib.StepDecay(10, gamma=0.0), "gamma"),
    (lambda: lrlib.StepDecay(10, gamma=1.5), "gamma"),
    (lambda: lrlib.MultiStep([]), "milestones"),
    (lambda: lrlib.MultiStep([10, 5]), "milestones"),
    (lambda: lrlib.MultiStep([0, 5]), "milestones[0]"),
    (lambda: lrlib.MultiStep("10"), "milestones"),
    (lambda: lrlib.MultiStep([5], gamma=float("nan")), "gamma"),
    (lambda: lrlib.Exponential(0.0), "decay_rate"),
    (lambda: lrlib.Exponential(1.2), "decay_rate"),
    (lambda: lrlib.Exponential(0.9, decay_steps=0), "decay_steps"),
    (lambda: lrlib.Exponential(0.9, staircase="yes"), "staircase"),
    (lambda: lrlib.Cosine(0), "total_steps"),
    (lambda: lrlib.Cosine(10, end=-0.1), "end"),
    (lambda: lrlib.Cosine(10, end=1.5), "end"),
    (lambda: lrlib.Cyclic(-0.1), "start"),
    (lambda: lrlib.Cyclic(0.1, 0), "step_size_up"),
    (lambda: lrlib.Cyclic(0.1, 10, step_size_down=0), "step_size_down"),
    (lambda: lrlib.Cyclic(0.1, 10, mode="sine"), "mode"),
    (lambda: lrlib.Cyclic(0.1, 10, gamma=0.0), "gamma"),
    (lambda: lrlib.Cyclic(0.1, 10).momentum(0.95, 0.9), "base_momentum"),
    (lambda: lrlib.Constant(-1.0), "factor"),
    (lambda: lrlib.Constant(float("inf")), "factor"),
    (lambda: lrlib.Plateau(mode="median"), "mode"),
    (lambda: lrlib.Plateau(gamma=1.0), "gamma"),
    (lambda: lrlib.Plateau(patience=-1), "patience"),
    (lambda: lrlib.Plateau(threshold=-0.1), "threshold"),
    (lambda: lrlib.Plateau(threshold_mode="pct"), "threshold_mode"),
    (lambda: lrlib.Plateau(cooldown=1.5), "cooldown"),
    (lambda: lrlib.Plateau(min_factor=2.0), "min_factor"),
    (lambda: lrlib.Plateau(nan_policy="zero"), "nan_policy"),
    (lambda: lrlib.Cosine(10)(-1), "step"),
    (lambda: lrlib.Cosine(10)(float("nan")), "step"),
    (lambda: lrlib.from_config({"name": "Nope"}), "config['name']"),
    (lambda: lrlib.from_config([1]), "config"),
]


@pytest.mark.parametrize("make,param", BAD, ids=[p for _, p in BAD])
def test_bad_parameters_raise_value_error_naming_the_parameter(make, param):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(param), str(info.value)


def test_adapter_rejects_non_schedules(opt):
    with pytest.raises(TypeError, match="schedule"):
        lrlib.ScheduledLR(opt, lambda t: 1.0)
    with pytest.raises(TypeError, match="momentum"):
        lrlib.ScheduledLR(opt, lrlib.Constant(), momentum=0.9)
    with pytest.raises(TypeError, match="plateau"):
        lrlib.PlateauLR(opt, lrlib.Constant())


def test_plateau_nan_policies():
    p = lrlib.Plateau(patience=0, gamma=0.5)
    s = p.update(lrlib.PlateauState(), 1.0)
    assert p.update(s, float("nan")).scale == 0.5  # "bad": counts as no improvement (PyTorch's behaviour)
    ignore = lrlib.Plateau(patience=0, gamma=0.5, nan_policy="ignore")
    assert ignore.update(s, float("nan")) == s
    with pytest.raises(ValueError, match="not finite"):
        lrlib.Plateau(nan_policy="raise").update(s, float("nan"))
    with pytest.raises(ValueError, match="metric"):
        p.update(s, "low")


def test_plateau_eps_stops_tiny_cuts():
    p = lrlib.Plateau(patience=0, gamma=0.5, eps=0.3)
    s = lrlib.PlateauState()
    scales = []
    for m in [1.0, 1.0, 1.0, 1.0]:
        s = p.update(s, m)
        scales.append(s.scale)
    assert scales == [1.0, 0.5, 0.5, 0.5]  # 0.5 -> 0.25 would change the scale by 0.25 <= eps


def test_momentum_schedule_needs_momentum_in_optimizer():
    import torch

    o = torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        lrlib.ScheduledLR(o, lrlib.Constant(), momentum=lrlib.Constant(0.9))
