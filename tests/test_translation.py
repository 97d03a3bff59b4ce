"""Every cell of book/translation.md against the real library it names: Keras 3 (torch backend),
timm, optax/jax, Hugging Face transformers and torch.optim.lr_scheduler. Each check runs >= 1,000
steps at parameters where the libraries could differ (non-zero floors, warmup plus floor, float
cycle lengths and multipliers, pct boundaries that are not integers, staircase on).

Tolerance: relative 1e-9 everywhere, as both sides compute in float64 (Keras with floatx float64,
optax with jax_enable_x64, timm/HF/torch in Python floats); PyTorch's recursive LinearLR and
CosineAnnealingLR stay within about 1e-13 over these runs.
"""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as tls

import lrlib
from conftest import lr_trace, make_optimizer

STEPS = 1500
LR = 0.1


def assert_same(ours, theirs, rel=1e-9, abs_=1e-15):
    """Two equally long sequences of LRs (or factors), >= 1,000 of them, agree at every step."""
    assert len(ours) == len(theirs) >= 1000
    for t, (a, b) in enumerate(zip(ours, theirs)):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=abs_), f"value {t}: lrlib {a!r} != {b!r}"


def factors(schedule, steps=STEPS):
    return [schedule(t) for t in range(steps)]


# ----------------------------------------------------------------------------- torch.optim.lr_scheduler
def _torch(make, steps=STEPS, groups=2):
    o = make_optimizer(groups=groups)
    bases = [g["lr"] for g in o.param_groups]
    return [lr for row in lr_trace(o, make(o), steps) for lr in row], bases


def _ours(schedule, bases, steps=STEPS):
    return [b * schedule(t) for t in range(steps) for b in bases]


def test_torch_constant_and_lambda():
    theirs, bases = _torch(lambda o: tls.LambdaLR(o, lambda t: 0.37))
    assert_same(_ours(lrlib.Constant(0.37), bases), theirs)


@pytest.mark.parametrize("start,warm", [(0.01, 100), (1 / 3, 7), (0.25, 1000)])
def test_torch_linear_warmup(start, warm):
    theirs, bases = _torch(lambda o: tls.LinearLR(o, start_factor=start, total_iters=warm))
    assert_same(_ours(lrlib.Warmup(lrlib.Constant(), warm, start=start), bases), theirs)


@pytest.mark.parametrize("start,warm,total,end", [(0.01, 100, 1500, 0.1), (0.2, 37, 1200, 0.05)])
def test_torch_warmup_cosine(start, warm, total, end):
    def make(o):  # eta_min is absolute: one param group
        a = tls.LinearLR(o, start_factor=start, total_iters=warm)
        b = tls.CosineAnnealingLR(o, T_max=total - warm, eta_min=end * LR)
        return tls.SequentialLR(o, [a, b], milestones=[warm])

    theirs, bases = _torch(make, steps=total + 1, groups=1)
    ours = _ours(lrlib.Warmup(lrlib.Cosine(total - warm, end), warm, start=start), bases, steps=total + 1)
    assert_same(ours, theirs)


# ----------------------------------------------------------------------------- Keras 3
@pytest.fixture(scope="module")
def ks():
    """keras.optimizers.schedules computing in float64 (floatx restored afterwards)."""
    keras = pytest.importorskip("keras")
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras.optimizers.schedules
    keras.config.set_floatx(old)


def keras_values(schedule, steps=STEPS):
    out = []
    for t in range(steps):
        v = schedule(t)
        assert v.dtype == torch.float64, v.dtype
        out.append(float(v))
    return out


@pytest.mark.parametrize("rate,k,staircase", [(0.9, 37, False), (0.96, 100, True), (0.5, 333, True)])
def test_keras_exponential(ks, rate, k, staircase):
    theirs = keras_values(ks.ExponentialDecay(1.0, k, rate, staircase=staircase))
    assert_same(factors(lrlib.Exponential(rate, k, staircase)), theirs)
    if staircase:
        assert_same(factors(lrlib.StepDecay(k, rate)), theirs)


def test_keras_piecewise_constant(ks):
    bounds, values = [99, 400, 1001], [1.0, 0.6, 0.25, 0.05]
    theirs = keras_values(ks.PiecewiseConstantDecay(bounds, values))
    ours = lrlib.Join([lrlib.Constant(v) for v in values], [b + 1 for b in bounds])
    assert_same(factors(ours), theirs)


@pytest.mark.parametrize("rate,k,staircase", [(0.5, 100, False), (2.0, 37, True)])
def test_keras_inverse_time(ks, rate, k, staircase):
    theirs = keras_values(ks.InverseTimeDecay(1.0, k, rate, staircase=staircase))
    assert_same(factors(lrlib.InverseTime(rate, k, staircase)), theirs)


@pytest.mark.parametrize("total,end,power,cycle", [(1000, 0.01, 2.0, False), (300, 0.05, 0.5, True),
                                                    (77, 0.1, 3.0, True)])
def test_keras_polynomial(ks, total, end, power, cycle):
    theirs = keras_values(ks.PolynomialDecay(1.0, total, end, power=power, cycle=cycle))
    assert_same(factors(lrlib.Polynomial(total, end, power, cycle)), theirs)


@pytest.mark.parametrize("total,end", [(1000, 0.1), (1400, 0.0)])
def test_keras_cosine(ks, total, end):
    assert_same(factors(lrlib.Cosine(total, end)), keras_values(ks.CosineDecay(1.0, total, alpha=end)))
    # warmup_steps without warmup_target is ignored: Keras decays from step 0
    ignored = ks.CosineDecay(1.0, total, alpha=end, warmup_steps=200)
    assert_same(factors(lrlib.Cosine(total, end)), keras_values(ignored))


@pytest.mark.parametrize("start,warm,decay,end", [(0.1, 100, 1000, 0.05), (0.0, 250, 1200, 0.2)])
def test_keras_cosine_warmup(ks, start, warm, decay, end):
    theirs = keras_values(ks.CosineDecay(start, decay, alpha=end, warmup_target=1.0, warmup_steps=warm))
    assert_same(factors(lrlib.Warmup(lrlib.Cosine(decay, end), warm, start=start)), theirs)


@pytest.mark.parametrize("first,t_mul,m_mul,alpha", [(100, 1.5, 0.8, 0.05), (37, 2.0, 0.5, 0.1),
                                                      (150, 1.0, 0.9, 0.2), (64, 1.3, 1.0, 0.0)])
def test_keras_cosine_restarts(ks, first, t_mul, m_mul, alpha):
    theirs = keras_values(ks.CosineDecayRestarts(1.0, first, t_mul=t_mul, m_mul=m_mul, alpha=alpha))
    ours = lrlib.CosineRestarts(first, t_mul, m_mul, alpha, cycle_decay_mode="amplitude")
    assert_same(factors(ours), theirs)


# ----------------------------------------------------------------------------- timm
@pytest.fixture(scope="module")
def timm():
    return pytest.importorskip("timm.scheduler")


def timm_lrs(make, steps=STEPS, per_update=True):
    """LRs of a one-group SGD optimizer under a timm scheduler driven by step_update(t) or step(t)."""
    o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=LR, momentum=0.9)
    s = make(o)
    out = []
    for t in range(steps):
        s.step_update(t) if per_update else s.step(t)
        out.append(o.param_groups[0]["lr"])
    return out


def lrs(schedule, steps=STEPS):
    return [LR * schedule(t) for t in range(steps)]


@pytest.mark.parametrize("total,end", [(1000, 0.1), (1200, 0.0)])
def test_timm_cosine(timm, total, end):
    theirs = timm_lrs(lambda o: timm.CosineLRScheduler(o, t_initial=total, lr_min=end * LR,
                                                       t_in_epochs=False))
    assert_same(lrs(lrlib.Cosine(total, end)), theirs)


RESTARTS = [  # cycle_steps, cycle_mult, cycle_decay, end, cycle_limit, k_decay
    (100, 1.5, 0.7, 0.05, 4, 1.0),
    (50, 2, 0.5, 0.1, 5, 2.0),
    (33, 1.7, 0.9, 0.02, None, 0.5),
    (120, 1, 0.8, 0.1, 7, 1.5),
    (90, 1.25, 1.0, 0.0, 3, 1.0),
]


def _timm_restarts(timm, length, mult, decay, end, limit, k, **kw):
    return lambda o: timm.CosineLRScheduler(o, t_initial=length, lr_min=end * LR, cycle_mul=mult,
                                            cycle_decay=decay, cycle_limit=limit or 10**9, k_decay=k,
                                            t_in_epochs=False, **kw)


@pytest.mark.parametrize("length,mult,decay,end,limit,k", RESTARTS)
def test_timm_cosine_restarts(timm, length, mult, decay, end, limit, k):
    theirs = timm_lrs(_timm_restarts(timm, length, mult, decay, end, limit, k))
    ours = lrlib.CosineRestarts(length, mult, decay, end, cycle_limit=limit, k_decay=k)
    assert_same(lrs(ours), theirs)


@pytest.mark.parametrize("prefix", [True, False])
@pytest.mark.parametrize("length,mult,decay,end,limit,k", RESTARTS[:2])
def test_timm_cosine_warmup(timm, length, mult, decay, end, limit, k, prefix):
    make = _timm_restarts(timm, length, mult, decay, end, limit, k, warmup_t=60, warmup_lr_init=0.02 * LR,
                          warmup_prefix=prefix)
    main = lrlib.CosineRestarts(length, mult, decay, end, cycle_limit=limit, k_decay=k)
    assert_same(lrs(lrlib.Warmup(main, 60, start=0.02, prefix=prefix)), timm_lrs(make))


def test_timm_restart_rounding(timm):
    """The one documented difference: timm finds the cycle with a float logarithm, which can round
    down at a step lying exactly on a restart (t = 847 for t_initial=7, cycle_mul=3) and report
    the floor of the previous cycle there; lrlib places the restart exactly."""
    theirs = timm_lrs(_timm_restarts(timm, 7, 3, 0.5, 0.1, None, 1.0), steps=1000)
    ours = lrs(lrlib.CosineRestarts(7, 3, 0.5, 0.1), steps=1000)
    differ = [t for t, (a, b) in enumerate(zip(ours, theirs)) if not math.isclose(a, b, rel_tol=1e-9)]
    assert differ == [847]
    assert theirs[847] == pytest.approx(0.1 * LR) and ours[847] == pytest.approx(0.5 ** 5 * LR)


@pytest.mark.parametrize("per_update", [True, False])
def test_timm_step(timm, per_update):
    theirs = timm_lrs(lambda o: timm.StepLRScheduler(o, decay_t=130, decay_rate=0.7,
                                                     t_in_epochs=not per_update), per_update=per_update)
    assert_same(lrs(lrlib.StepDecay(130, 0.7)), theirs)


def test_timm_multistep(timm):
    ms = [100, 450, 451, 1200]
    theirs = timm_lrs(lambda o: timm.MultiStepLRScheduler(o, decay_t=ms, decay_rate=0.3, t_in_epochs=False))
    assert_same(lrs(lrlib.MultiStep([m - 1 for m in ms], 0.3)), theirs)


@pytest.mark.parametrize("total,power,end", [(1000, 0.5, 0.05), (1300, 2.0, 0.0)])
def test_timm_poly(timm, total, power, end):
    theirs = timm_lrs(lambda o: timm.PolyLRScheduler(o, t_initial=total, power=power, lr_min=end * LR,
                                                     t_in_epochs=False))
    assert_same(lrs(lrlib.Polynomial(total, end, power)), theirs)


@pytest.mark.parametrize("shape", ["1-sqrt", "linear", "cosine"])
def test_timm_wsd(timm, shape):
    total, n, w, end, start = 1400, 300, 75, 0.02, 0.1
    theirs = timm_lrs(lambda o: timm.WSDLRScheduler(o, t_initial=total - w, decay_t=n, lr_min=end * LR,
                                                    decay_fn=shape, warmup_t=w, warmup_lr_init=start * LR,
                                                    t_in_epochs=False))
    assert_same(lrs(lrlib.WSD(total, n, w, shape, end, start)), theirs)


def test_timm_plateau(timm):
    g = torch.Generator().manual_seed(1)
    metric = (1.0 / torch.arange(1, 1201) + 0.02 * torch.rand(1200, generator=g)).tolist()
    o1 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=LR)
    o2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=LR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # timm deprecates it; the cell documents the mapping
        theirs = timm.PlateauLRScheduler(o2, decay_rate=0.5, patience_t=3, threshold=1e-3, cooldown_t=2,
                                         lr_min=0.01 * LR, mode="min")
    ours = lrlib.PlateauLR(o1, lrlib.Plateau(mode="min", gamma=0.5, patience=3, threshold=1e-3, cooldown=2,
                                             min_factor=0.01))
    seen = set()
    for t, m in enumerate(metric):
        ours.step(m)
        theirs.step(t + 1, m)  # timm's epoch 0 is a warmup step, even without warmup
        a, b = o1.param_groups[0]["lr"], o2.param_groups[0]["lr"]
        assert math.isclose(a, b, rel_tol=1e-9), (t, a, b)
        seen.add(a)
    assert len(seen) >= 4  # several cuts happened


# ----------------------------------------------------------------------------- optax (jax, float64)
@pytest.fixture(scope="module")
def optax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # float64 like lrlib; the tests then allow 1e-9
    return pytest.importorskip("optax")


def optax_values(schedule, steps=STEPS):
    import jax
    import jax.numpy as jnp

    values = jax.vmap(schedule)(jnp.arange(steps))
    assert values.dtype == jnp.float64, values.dtype
    return [float(v) for v in values]


def test_optax_simple(optax):
    constant = optax.constant_schedule(0.3)
    assert_same(factors(lrlib.Constant(0.3)), optax_values(lambda t: constant(t) + 0.0 * t))  # a vector
    assert_same(factors(lrlib.Linear(0.05, 0.8, 1100)), optax_values(optax.linear_schedule(0.05, 0.8, 1100)))
    assert_same(factors(lrlib.Polynomial(900, 0.05, 2.5)),
                optax_values(optax.polynomial_schedule(1.0, 0.05, 2.5, 900)))


def test_optax_exponential(optax):
    for k, rate, staircase in [(37, 0.9, False), (100, 0.5, True)]:
        theirs = optax_values(optax.exponential_decay(1.0, k, rate, staircase=staircase))
        assert_same(factors(lrlib.Exponential(rate, k, staircase)), theirs)
        if staircase:
            assert_same(factors(lrlib.StepDecay(k, rate)), theirs)
    theirs = optax_values(optax.exponential_decay(1.0, 50, 0.8, transition_begin=300))
    assert_same(factors(lrlib.Join([lrlib.Constant(), lrlib.Exponential(0.8, 50)], [300])), theirs)


def test_optax_piecewise(optax):
    ms = [150, 600, 601, 1300]
    theirs = optax_values(optax.piecewise_constant_schedule(1.0, {m: 0.4 for m in ms}))
    assert_same(factors(lrlib.MultiStep(ms, 0.4)), theirs)
    scales = {100: 5.0, 700: 0.5, 1250: 0.1}
    theirs = optax_values(optax.piecewise_interpolate_schedule("linear", 0.2, scales))
    assert_same(factors(lrlib.PiecewiseLinear([0, 100, 700, 1250], [0.2, 1.0, 0.5, 0.05])), theirs)


@pytest.mark.parametrize("total,end", [(1000, 0.1), (1499, 0.0)])
def test_optax_cosine(optax, total, end):
    theirs = optax_values(optax.cosine_decay_schedule(1.0, total, alpha=end))
    assert_same(factors(lrlib.Cosine(total, end)), theirs)


def test_optax_warmup(optax):
    start, w = 0.05, 120
    assert_same(factors(lrlib.Warmup(lrlib.Constant(), w, start=start)),
                optax_values(optax.warmup_constant_schedule(start, 1.0, w)))
    assert_same(factors(lrlib.Warmup(lrlib.Cosine(1300 - w, 0.1), w, start=start)),
                optax_values(optax.warmup_cosine_decay_schedule(start, 1.0, w, 1300, end_value=0.1)))
    assert_same(factors(lrlib.Warmup(lrlib.Exponential(0.7, 90, True), w, start=start)),
                optax_values(optax.warmup_exponential_decay_schedule(start, 1.0, w, 90, 0.7, staircase=True)))


def test_optax_join(optax):
    pieces = [optax.linear_schedule(0.1, 1.0, 200), optax.cosine_decay_schedule(1.0, 800, 0.05),
              optax.constant_schedule(0.05)]
    theirs = optax.join_schedules(pieces, [200, 1000])
    ours = lrlib.Join([lrlib.Linear(0.1, 1.0, 200), lrlib.Cosine(800, 0.05), lrlib.Constant(0.05)],
                      [200, 1000])
    assert_same(factors(ours), optax_values(theirs))


@pytest.mark.parametrize("length,mult,decay,end,cycles", [(100, 2, 0.7, 0.05, 4), (150, 1, 0.8, 0.2, 8)])
def test_optax_sgdr(optax, length, mult, decay, end, cycles):
    kwargs = [dict(init_value=decay ** i, peak_value=decay ** i, warmup_steps=0,
                   decay_steps=length * mult ** i, end_value=end) for i in range(cycles)]
    ours = lrlib.CosineRestarts(length, mult, decay, end, cycle_limit=cycles)
    assert_same(factors(ours), optax_values(optax.sgdr_schedule(kwargs)))


@pytest.mark.parametrize("total,pct,div,final_div", [(1000, 0.3, 25.0, 1e4), (1337, 0.234, 10.0, 100.0)])
def test_optax_onecycle(optax, total, pct, div, final_div):
    theirs = optax.cosine_onecycle_schedule(total, 1.0, pct_start=pct, div_factor=div,
                                            final_div_factor=final_div)
    ours = lrlib.OneCycle(total, pct, "cosine", div, final_div, phase_ends="optax")
    assert_same(factors(ours), optax_values(theirs))
    theirs = optax.linear_onecycle_schedule(total, 1.0, pct_start=pct, pct_final=0.81, div_factor=div,
                                            final_div_factor=final_div)
    ours = lrlib.OneCycle(total, pct, "linear", div, final_div, three_phase=True, pct_final=0.81,
                          phase_ends="optax")
    assert_same(factors(ours), optax_values(theirs))


# ----------------------------------------------------------------------------- Hugging Face transformers
@pytest.fixture(scope="module")
def hf():
    return pytest.importorskip("transformers.optimization")


def _hf(fn, steps=STEPS, groups=2, **kw):
    o = make_optimizer(groups=groups)
    bases = [g["lr"] for g in o.param_groups]
    return [lr for row in lr_trace(o, fn(o, **kw), steps) for lr in row], bases


def test_hf_constant(hf):
    theirs, bases = _hf(hf.get_constant_schedule)
    assert_same(_ours(lrlib.Constant(), bases), theirs)
    theirs, bases = _hf(hf.get_constant_schedule_with_warmup, num_warmup_steps=333)
    assert_same(_ours(lrlib.Warmup(lrlib.Constant(), 333), bases), theirs)


@pytest.mark.parametrize("warm,total", [(50, 1000), (200, 1200), (1, 1400)])
def test_hf_linear(hf, warm, total):
    theirs, bases = _hf(hf.get_linear_schedule_with_warmup, num_warmup_steps=warm, num_training_steps=total)
    assert_same(_ours(lrlib.Warmup(lrlib.Linear(1.0, 0.0, total - warm), warm), bases), theirs)


@pytest.mark.parametrize("warm,total,end", [(50, 1000, 0.0), (200, 1200, 0.1), (37, 1400, 0.03)])
def test_hf_cosine(hf, warm, total, end):
    ours = lrlib.Warmup(lrlib.Cosine(total - warm, end), warm)
    if end == 0.0:
        theirs, bases = _hf(hf.get_cosine_schedule_with_warmup, steps=total + 1, num_warmup_steps=warm,
                            num_training_steps=total)
    else:
        theirs, bases = _hf(hf.get_cosine_with_min_lr_schedule_with_warmup, steps=total + 1,
                            num_warmup_steps=warm, num_training_steps=total, min_lr_rate=end)
    assert_same(_ours(ours, bases, steps=total + 1), theirs)


@pytest.mark.parametrize("warm,total,cycles", [(37, 1000, 6), (0, 1000, 7), (50, 1250, 9), (10, 1010, 4)])
def test_hf_restarts(hf, warm, total, cycles):
    theirs, bases = _hf(hf.get_cosine_with_hard_restarts_schedule_with_warmup, num_warmup_steps=warm,
                        num_training_steps=total, num_cycles=cycles)
    main = lrlib.CosineRestarts((total - warm) / cycles, cycle_limit=cycles)
    assert_same(_ours(lrlib.Warmup(main, warm) if warm else main, bases), theirs)


@pytest.mark.parametrize("warm,total,end,power", [(50, 1000, 0.0, 1.0), (1, 1000, 0.01, 2.0),
                                                  (100, 1100, 0.1, 0.5)])
def test_hf_polynomial(hf, warm, total, end, power):
    # lr_end is absolute and HF divides by the optimizer's default LR: one group
    theirs, bases = _hf(hf.get_polynomial_decay_schedule_with_warmup, groups=1, num_warmup_steps=warm,
                        num_training_steps=total, lr_end=end * LR, power=power)
    assert_same(_ours(lrlib.Warmup(lrlib.Polynomial(total - warm, end, power), warm), bases), theirs)


@pytest.mark.parametrize("warm,timescale", [(0, None), (100, None), (100, 500), (0, 50)])
def test_hf_inv_sqrt(hf, warm, timescale):
    theirs, bases = _hf(hf.get_inverse_sqrt_schedule, num_warmup_steps=warm, timescale=timescale)
    assert_same(_ours(lrlib.InverseSqrt(warm, timescale), bases), theirs)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("warm,decay,total,ratio", [(100, 300, 1000, 0.1), (0, 450, 1500, 0.02),
                                                    (73, 1, 1100, 0.0)])
def test_hf_wsd(hf, shape, warm, decay, total, ratio):
    theirs, bases = _hf(hf.get_wsd_schedule, num_warmup_steps=warm, num_decay_steps=decay,
                        num_training_steps=total, decay_type=shape, min_lr_ratio=ratio)
    ours = lrlib.WSD(total, decay, warm, shape, end=ratio, start=ratio)
    assert_same(_ours(ours, bases), theirs)
