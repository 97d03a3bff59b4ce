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
    lrlib.CosineRestarts(12.5, 1.5, 0.8, 0.05, cycle_limit=4, cycle_decay_mode="amplitude", k_decay=2.0),
    lrlib.OneCycle(1000, 0.2, "linear", 10.0, 100.0, three_phase=True, pct_final=0.7, phase_ends="optax"),
    lrlib.Warmup(lrlib.Cosine(100, 0.1), 10, start=0.05, prefix=False),
    lrlib.WSD(1000, 200, 50, "cosine", end=0.1, start=0.1),
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
    (lambda: lrlib.CosineRestarts(0.5), "cycle_steps"),
    (lambda: lrlib.CosineRestarts(10, 0.9), "cycle_mult"),
    (lambda: lrlib.CosineRestarts(10, cycle_limit=0), "cycle_limit"),
    (lambda: lrlib.CosineRestarts(10, cycle_limit=2.5), "cycle_limit"),
    (lambda: lrlib.CosineRestarts(10, cycle_decay_mode="floor"), "cycle_decay_mode"),
    (lambda: lrlib.CosineRestarts(10, k_decay=0.0), "k_decay"),
    (lambda: lrlib.OneCycle(100, pct_final=0.8), "pct_final"),
    (lambda: lrlib.OneCycle(100, 0.3, three_phase=True, pct_final=0.3), "pct_final"),
    (lambda: lrlib.OneCycle(100, 0.6, three_phase=True), "pct_start"),
    (lambda: lrlib.OneCycle(100, phase_ends="jax"), "phase_ends"),
    (lambda: lrlib.OneCycle(100, 0.005, phase_ends="optax"), "pct_start"),  # int(0.5) = 0: an empty phase
    (lambda: lrlib.WSD(100, 20, 10, start=1.5), "start"),
    (lambda: lrlib.Warmup(lrlib.Constant(), 10, prefix="no"), "prefix"),
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


def test_cosine_restarts_new_options():
    # cycle_limit: after the last cycle the factor stays at end (timm's cycle_limit, HF's hard restarts)
    s = lrlib.CosineRestarts(10, cycle_limit=2, end=0.1)
    assert s(19) > 0.1 and [s(t) for t in (20, 25, 10**9)] == [0.1, 0.1, 0.1]
    # "peak": cycle i peaks at d**i; "amplitude" (Keras' m_mul): the height above end shrinks by d
    peak = lrlib.CosineRestarts(10, cycle_decay=0.5, end=0.2)
    amp = lrlib.CosineRestarts(10, cycle_decay=0.5, end=0.2, cycle_decay_mode="amplitude")
    assert peak(20) == 0.25 and amp(20) == pytest.approx(0.2 + 0.8 * 0.25)
    assert amp.bounds() == (0.2, 1.0) and peak.bounds() == (0.0, 1.0)
    # k_decay bends the cosine: the phase p becomes p**k
    k2 = lrlib.CosineRestarts(100, k_decay=2.0)
    assert k2(50) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    # float cycle lengths and multipliers
    assert lrlib.CosineRestarts(7.5, 1.5).position(7.5 + 11.25) == (2, 0.0)
    assert lrlib.CosineRestarts(250.0, 2.0) == lrlib.CosineRestarts(250, 2)
    assert type(lrlib.CosineRestarts(250.0).cycle_steps) is int


def test_fractional_cycles_restart_exactly_on_integer_steps():
    # 1000 steps in 6 cycles: restarts at 166.67, 333.33, 500 (a step), ...; 500 / (1000 / 6) rounds below 3
    s = lrlib.CosineRestarts(1000 / 6, cycle_limit=6)
    assert s.position(500) == (3, 0.0) and s(500) == 1.0
    assert s(499) < 0.01 and s(1000) == 0.0
    for total in range(100, 400):
        for cycles in (3, 6, 7, 9, 12):
            s = lrlib.CosineRestarts(total / cycles)
            for k in range(1, cycles):
                if k * total % cycles == 0:
                    assert s.position(k * total // cycles) == (k, 0.0), (total, cycles, k)


def test_one_cycle_phase_ends():
    torch_style = lrlib.OneCycle(1000, 0.3, "linear")
    optax_style = lrlib.OneCycle(1000, 0.3, "linear", phase_ends="optax")
    assert torch_style(299) == 1.0 and torch_style(999) == torch_style(10**6) == pytest.approx(1 / 25 / 1e4)
    assert optax_style(300) == 1.0 and optax_style(299) < 1.0
    assert optax_style(999) > optax_style(1000) == optax_style(10**6) == pytest.approx(1 / 25 / 1e4)
    three = lrlib.OneCycle(1000, 0.2, "linear", three_phase=True, pct_final=0.7, phase_ends="optax")
    assert [three(t) for t in (200, 700)] == pytest.approx([1.0, 1 / 25])
    explicit, default = (lrlib.OneCycle(1000, 0.2, three_phase=True, pct_final=f) for f in (0.4, None))
    assert [explicit(t) for t in range(1000)] == [default(t) for t in range(1000)]  # None means 2 * pct_start


def test_warmup_prefix_and_wsd_start():
    main = lrlib.Cosine(100, 0.1)
    shifted, overlaid = lrlib.Warmup(main, 10, start=0.2), lrlib.Warmup(main, 10, start=0.2, prefix=False)
    assert shifted(5) == overlaid(5) == pytest.approx(0.6)
    assert shifted(10) == main(0) and overlaid(10) == main(10) and overlaid(100) == 0.1
    wsd = lrlib.WSD(100, 20, 10, "linear", end=0.1, start=0.1)  # HF get_wsd_schedule(min_lr_ratio=0.1)
    want = [0.1, 0.55, 1, 1, 0.55, 0.1, 0.1]
    assert [wsd(t) for t in (0, 5, 10, 80, 90, 100, 10**9)] == pytest.approx(want)
    assert wsd.bounds() == (0.1, 1.0)


def test_anytime_cooldown_refuses_bad_arguments():
    wsd = lrlib.WSD(1000, 200, 50)
    with pytest.raises(ValueError, match="^end"):
        lrlib.anytime_cooldown(lrlib.Constant(0.5), 100, 10, end=0.6)  # above the value at `at`
    with pytest.raises(ValueError, match="^end"):
        lrlib.anytime_cooldown(wsd, 500, 100, end=float("inf"))
    with pytest.raises(ValueError, match="^end"):
        lrlib.anytime_cooldown(wsd, 500, 100, end=None)
    with pytest.raises(ValueError, match="^schedule"):
        lrlib.anytime_cooldown(lambda t: 1.0, 500, 100)
    with pytest.raises(ValueError, match="^at"):
        lrlib.anytime_cooldown(wsd, 0, 100)
    with pytest.raises(ValueError, match="^total_steps"):
        lrlib.anytime_cooldown(wsd, 500, 0)
    with pytest.raises(ValueError, match="^shape"):
        lrlib.anytime_cooldown(wsd, 500, 100, shape="step")
    s = lrlib.anytime_cooldown(lrlib.Constant(0.5), 100, 50, "linear", end=0.5)  # end == value: flat, allowed
    assert s(10**6) == 0.5
