"""Property-based tests (hypothesis): every schedule is finite, inside its declared bounds, monotone
where it says so, and every generated bad configuration is rejected with a ValueError."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlib

unit = st.floats(min_value=1e-6, max_value=1.0, exclude_min=False)
gamma = st.floats(min_value=1e-6, max_value=1.0)
size = st.integers(min_value=1, max_value=10_000)

schedules = st.one_of(
    st.builds(lrlib.Constant, st.floats(min_value=0.0, max_value=10.0)),
    st.builds(lrlib.StepDecay, size, gamma),
    st.builds(lambda ms, g: lrlib.MultiStep(sorted(set(ms)), g), st.lists(size, min_size=1, max_size=6), gamma),
    st.builds(lrlib.Exponential, gamma, size, st.booleans()),
    st.builds(lrlib.Cosine, size, st.floats(min_value=0.0, max_value=1.0)),
    st.builds(lrlib.Cyclic, st.floats(min_value=0.0, max_value=1.0), size, st.one_of(st.none(), size),
              st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma),
    st.builds(lrlib.Linear, st.floats(min_value=0.0, max_value=2.0), st.floats(min_value=0.0, max_value=2.0), size),
    st.builds(lrlib.Polynomial, size, st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.1, max_value=5.0),
              st.booleans()),
    st.builds(lrlib.InverseTime, st.floats(min_value=0.0, max_value=100.0), size, st.booleans()),
    st.builds(lrlib.InverseSqrt, st.integers(min_value=0, max_value=5000), st.one_of(st.none(), size)),
    st.builds(lrlib.OneCycle, st.integers(min_value=20, max_value=10_000), st.floats(min_value=0.1, max_value=0.45),
              st.sampled_from(["cosine", "linear"]), st.floats(min_value=1.0, max_value=100.0),
              st.floats(min_value=1.0, max_value=1e5), st.booleans()),
    st.builds(lrlib.CosineRestarts, size, st.integers(min_value=1, max_value=4), gamma,
              st.floats(min_value=0.0, max_value=1.0)),
    st.builds(lrlib.Cooldown, size, st.sampled_from(["linear", "cosine", "1-sqrt"]),
              st.floats(min_value=0.5, max_value=1.0), st.floats(min_value=0.0, max_value=0.5)),
    st.builds(lambda t, w, d, sh: lrlib.WSD(t + w + d, d, w, sh), size, st.integers(min_value=0, max_value=100),
              size, st.sampled_from(["linear", "cosine", "1-sqrt"])),
    st.builds(lambda xs, ys: lrlib.PiecewiseLinear(sorted(set(xs)), ys[:len(set(xs))]),
              st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
              st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=6, max_size=6)),
)
schedules = st.one_of(
    base_schedules := schedules,
    st.builds(lambda s, w, m: lrlib.Warmup(s, w, m, 0.01), schedules, size, st.sampled_from(["linear", "exponential"])),
    st.builds(lambda a, b, k: lrlib.Join([a, b], [k]), schedules, schedules, size),
)
steps = st.one_of(st.integers(min_value=0, max_value=10**7), st.floats(min_value=0.0, max_value=1e9))


@settings(max_examples=400, deadline=None)
@given(schedules, steps)
def test_finite_and_within_bounds(s, t):
    v = s(t)
    lo, hi = s.bounds()
    assert math.isfinite(v)
    assert lo - 1e-12 <= v <= hi + 1e-12


@settings(max_examples=300, deadline=None)
@given(schedules, st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_monotone_where_declared(s, a, b):
    a, b = min(a, b), max(a, b)
    if s.monotone == "decreasing":
        assert s(b) <= s(a) + 1e-12
    elif s.monotone == "increasing":
        assert s(b) >= s(a) - 1e-12


@settings(max_examples=200, deadline=None)
@given(schedules)
def test_config_round_trip(s):
    assert lrlib.from_config(s.to_config()) == s


bad_real = st.one_of(st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")),
                     st.floats(max_value=-1e-9), st.text(max_size=3), st.none())
bad_int = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3), st.booleans())
bad_gamma = st.one_of(bad_real, st.floats(min_value=1.0001, max_value=1e6), st.just(0.0))

bad_configs = st.one_of(
    st.tuples(st.just("step_size"), st.builds(lambda v: lambda: lrlib.StepDecay(v), bad_int)),
    st.tuples(st.just("gamma"), st.builds(lambda v: lambda: lrlib.StepDecay(5, v), bad_gamma)),
    st.tuples(st.just("gamma"), st.builds(lambda v: lambda: lrlib.MultiStep([5], v), bad_gamma)),
    st.tuples(st.just("milestones"), st.builds(
        lambda ms: lambda: lrlib.MultiStep(ms), st.lists(st.integers(min_value=1, max_value=50), min_size=2)
        .filter(lambda ms: any(b <= a for a, b in zip(ms, ms[1:]))))),
    st.tuples(st.just("decay_rate"), st.builds(lambda v: lambda: lrlib.Exponential(v), bad_gamma)),
    st.tuples(st.just("decay_steps"), st.builds(lambda v: lambda: lrlib.Exponential(0.5, v), bad_int)),
    st.tuples(st.just("total_steps"), st.builds(lambda v: lambda: lrlib.Cosine(v), bad_int)),
    st.tuples(st.just("end"), st.builds(
        lambda v: lambda: lrlib.Cosine(10, v), st.one_of(bad_real, st.floats(min_value=1.0001, max_value=1e9)))),
    st.tuples(st.just("start"), st.builds(lambda v: lambda: lrlib.Cyclic(v), bad_real)),
    st.tuples(st.just("step_size_up"), st.builds(lambda v: lambda: lrlib.Cyclic(0.1, v), bad_int)),
    st.tuples(st.just("mode"), st.builds(lambda v: lambda: lrlib.Cyclic(0.1, 5, mode=v),
                                         st.text(max_size=12).filter(lambda m: m not in ("triangular", "triangular2", "exp_range")))),
    st.tuples(st.just("gamma"), st.builds(lambda v: lambda: lrlib.Plateau(gamma=v),
                                           st.one_of(bad_real, st.floats(min_value=1.0, max_value=1e6)))),
    st.tuples(st.just("patience"), st.builds(lambda v: lambda: lrlib.Plateau(patience=v),
                                             st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2)))),
    st.tuples(st.just("step"), st.builds(lambda v: lambda: lrlib.Cosine(10)(v), bad_real)),
    st.tuples(st.just("total_steps"), st.builds(lambda v: lambda: lrlib.OneCycle(v), bad_int)),
    st.tuples(st.just("pct_start"), st.builds(lambda v: lambda: lrlib.OneCycle(100, v),
                                              st.one_of(bad_real, st.floats(min_value=1.0, max_value=10.0)))),
    st.tuples(st.just("shape"), st.builds(lambda v: lambda: lrlib.OneCycle(100, shape=v), st.text(max_size=5))),
    st.tuples(st.just("div_factor"), st.builds(lambda v: lambda: lrlib.OneCycle(100, div_factor=v),
                                               st.one_of(bad_real, st.floats(min_value=0.0, max_value=0.999)))),
    st.tuples(st.just("cycle_steps"), st.builds(lambda v: lambda: lrlib.CosineRestarts(v), bad_int)),
    st.tuples(st.just("cycle_mult"), st.builds(lambda v: lambda: lrlib.CosineRestarts(10, v), bad_int)),
    st.tuples(st.just("cycle_decay"), st.builds(lambda v: lambda: lrlib.CosineRestarts(10, cycle_decay=v), bad_gamma)),
    st.tuples(st.just("power"), st.builds(lambda v: lambda: lrlib.Polynomial(10, power=v),
                                          st.one_of(bad_real, st.just(0.0)))),
    st.tuples(st.just("end"), st.builds(lambda v: lambda: lrlib.Polynomial(10, end=v),
                                        st.one_of(bad_real, st.floats(min_value=1.001, max_value=9.0)))),
    st.tuples(st.just("decay_rate"), st.builds(lambda v: lambda: lrlib.InverseTime(v), bad_real)),
    st.tuples(st.just("warmup_steps"), st.builds(lambda v: lambda: lrlib.InverseSqrt(v),
                                                 st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2)))),
    st.tuples(st.just("timescale"), st.builds(lambda v: lambda: lrlib.InverseSqrt(10, v), bad_int)),
    st.tuples(st.just("total_steps"), st.builds(lambda v: lambda: lrlib.Linear(0, 1, v), bad_int)),
    st.tuples(st.just("warmup_steps"), st.builds(lambda v: lambda: lrlib.Warmup(lrlib.Constant(), v), bad_int)),
    st.tuples(st.just("main"), st.builds(lambda v: lambda: lrlib.Warmup(v, 10),
                                         st.one_of(st.none(), st.integers(), st.text(max_size=3)))),
    st.tuples(st.just("start"), st.builds(lambda v: lambda: lrlib.Warmup(lrlib.Constant(), 10, "exponential", v),
                                          st.one_of(bad_real, st.just(0.0), st.floats(min_value=1.01, max_value=5.0)))),
    st.tuples(st.just("boundaries"), st.builds(lambda k: lambda: lrlib.Join([lrlib.Constant()] * 2, [5] * k),
                                               st.integers(min_value=0, max_value=5).filter(lambda k: k != 1))),
    st.tuples(st.just("schedules"), st.builds(lambda v: lambda: lrlib.Join([lrlib.Constant(), v], [5]),
                                              st.one_of(st.none(), st.floats(), st.text(max_size=3)))),
    st.tuples(st.just("xs"), st.builds(lambda xs: lambda: lrlib.PiecewiseLinear(xs, [1.0] * len(xs)),
                                       st.lists(st.integers(min_value=0, max_value=9), min_size=2, max_size=5)
                                       .filter(lambda xs: any(b <= a for a, b in zip(xs, xs[1:]))))),
    st.tuples(st.just("shape"), st.builds(lambda v: lambda: lrlib.WSD(100, 20, 10, v),
                                          st.text(max_size=6).filter(lambda v: v not in ("linear", "cosine", "1-sqrt")))),
    st.tuples(st.just("warmup_steps + cooldown_steps"), st.builds(lambda w: lambda: lrlib.WSD(100, 50, w),
                                                               st.integers(min_value=51, max_value=1000))),
)


@settings(max_examples=500, deadline=None)
@given(bad_configs)
def test_generated_bad_configurations_are_rejected(case):
    param, make = case
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(param)


bad_train_kwargs = st.one_of(
    st.tuples(st.just("lr"), st.fixed_dictionaries({"lr": st.one_of(bad_real, st.just(0.0))})),
    st.tuples(st.just("momentum"), st.fixed_dictionaries(
        {"momentum": st.one_of(bad_real, st.floats(min_value=1.0, max_value=1e3))})),
    st.tuples(st.just("weight_decay"), st.fixed_dictionaries({"weight_decay": bad_real})),
    st.tuples(st.just("seed"), st.fixed_dictionaries({"seed": st.one_of(st.integers(max_value=-1), st.floats())})),
    st.tuples(st.just("epochs"), st.fixed_dictionaries({"epochs": bad_int})),
    st.tuples(st.just("optimizer"), st.fixed_dictionaries(
        {"optimizer": st.text(max_size=6).filter(lambda s: s not in ("sgd", "adam"))})),
)


@settings(max_examples=300, deadline=None)
@given(bad_train_kwargs)
def test_generated_bad_training_arguments_are_rejected(case):
    from lrlib import train

    param, kwargs = case
    with pytest.raises(ValueError) as info:
        train.train(budget="smoke", **kwargs)
    assert param in str(info.value)
