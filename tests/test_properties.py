"""Property-based tests (hypothesis): every schedule is finite, inside its declared bounds, monotone
where it says so, and every generated bad configuration is rejected with a ValueError."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlib

unit = st.floats(min_value=1e-6, max_value=1.0, exclude_min=False)
gamma = st.floats(min_value=1e-6, max_value=1.0)
size = st.integers(min_value=1, max_value=10_000)
shapes = st.sampled_from(["linear", "cosine", "1-sqrt"])


def reals(lo: float, hi: float):
    return st.floats(min_value=lo, max_value=hi)


@st.composite
def one_cycles(draw):
    three = draw(st.booleans())
    pct = draw(reals(0.1, 0.45))
    final = draw(st.one_of(st.none(), reals(pct + 0.05, 0.95))) if three else None
    return lrlib.OneCycle(draw(st.integers(min_value=40, max_value=10_000)), pct,
                          draw(st.sampled_from(["cosine", "linear"])), draw(reals(1.0, 100.0)),
                          draw(reals(1.0, 1e5)), three, final, draw(st.sampled_from(["torch", "optax"])))


schedules = st.one_of(
    st.builds(lrlib.Constant, reals(0.0, 10.0)),
    st.builds(lrlib.StepDecay, size, gamma),
    st.builds(lambda ms, g: lrlib.MultiStep(sorted(set(ms)), g), st.lists(size, min_size=1, max_size=6),
              gamma),
    st.builds(lrlib.Exponential, gamma, size, st.booleans()),
    st.builds(lrlib.Cosine, size, reals(0.0, 1.0)),
    st.builds(lrlib.Cyclic, reals(0.0, 1.0), size, st.one_of(st.none(), size),
              st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma),
    st.builds(lrlib.Linear, reals(0.0, 2.0), reals(0.0, 2.0), size),
    st.builds(lrlib.Polynomial, size, reals(0.0, 1.0), reals(0.1, 5.0), st.booleans()),
    st.builds(lrlib.InverseTime, reals(0.0, 100.0), size, st.booleans()),
    st.builds(lrlib.InverseSqrt, st.integers(min_value=0, max_value=5000), st.one_of(st.none(), size)),
    one_cycles(),
    st.builds(lrlib.CosineRestarts, st.one_of(size, reals(1.0, 1e4)),
              st.one_of(st.integers(min_value=1, max_value=4), reals(1.0, 3.0)), gamma, reals(0.0, 1.0),
              st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
              st.sampled_from(["peak", "amplitude"]), reals(0.1, 5.0)),
    st.builds(lrlib.Cooldown, size, shapes, reals(0.5, 1.0), reals(0.0, 0.5)),
    st.builds(lambda t, w, d, sh, e, s: lrlib.WSD(t + w + d, d, w, sh, e, s), size,
              st.integers(min_value=0, max_value=100), size, shapes, unit, unit),
    st.builds(lambda xs, ys: lrlib.PiecewiseLinear(sorted(set(xs)), ys[:len(set(xs))]),
              st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
              st.lists(reals(0.0, 2.0), min_size=6, max_size=6)),
)
schedules = st.one_of(
    base_schedules := schedules,
    st.builds(lambda s, w, m, p: lrlib.Warmup(s, w, m, 0.01, p), schedules, size,
              st.sampled_from(["linear", "exponential"]), st.booleans()),
    st.builds(lambda a, b, k: lrlib.Join([a, b], [k]), schedules, schedules, size),
)
HUGE = [10**17, 10**17 + 9, 2**53 + 1, 2**63, 2**64 - 1, 10**30 + 7, 10**400, 1.7976931348623157e308]
steps = st.one_of(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0), st.sampled_from(HUGE),
                  reals(0.0, 1e9), st.floats(min_value=0.0, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(schedules, steps)
def test_finite_and_within_bounds(s, t):
    """Every step >= 0, however large, gives a finite Python float inside the schedule's bounds."""
    v = s(t)
    lo, hi = s.bounds()
    assert type(v) is float and math.isfinite(v)
    assert lo - 1e-12 <= v <= hi + 1e-12


@settings(max_examples=200, deadline=None)
@given(schedules, st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_monotone_where_declared(s, a, b):
    a, b = min(a, b), max(a, b)
    if s.monotone == "decreasing":
        assert s(b) <= s(a) + 1e-12
    elif s.monotone == "increasing":
        assert s(b) >= s(a) - 1e-12


@settings(max_examples=150, deadline=None)
@given(schedules)
def test_config_round_trip(s):
    assert lrlib.from_config(s.to_config()) == s


bad_real = st.one_of(st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")),
                     st.floats(max_value=-1e-9), st.text(max_size=3), st.none())
bad_int = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3), st.booleans())
bad_gamma = st.one_of(bad_real, reals(1.0001, 1e6), st.just(0.0))
below_one = st.one_of(bad_real, reals(-1e6, 0.9999), st.text(max_size=3), st.booleans())
neg_int = st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2))


def case(param: str, make, values):
    """A (parameter name, zero-argument constructor) pair for each generated bad value."""
    return st.tuples(st.just(param), st.builds(lambda v: lambda: make(v), values))


def other_text(*allowed: str, size: int = 12):
    return st.text(max_size=size).filter(lambda v: v not in allowed)


def unsorted(values):
    return values.filter(lambda xs: any(b <= a for a, b in zip(xs, xs[1:])))


Warmup, Restarts, OneCycle = lrlib.Warmup, lrlib.CosineRestarts, lrlib.OneCycle
bad_configs = st.one_of(
    case("step_size", lambda v: lrlib.StepDecay(v), bad_int),
    case("gamma", lambda v: lrlib.StepDecay(5, v), bad_gamma),
    case("gamma", lambda v: lrlib.MultiStep([5], v), bad_gamma),
    case("milestones", lambda ms: lrlib.MultiStep(ms),
         unsorted(st.lists(st.integers(min_value=1, max_value=50), min_size=2))),
    case("decay_rate", lambda v: lrlib.Exponential(v), bad_gamma),
    case("decay_steps", lambda v: lrlib.Exponential(0.5, v), bad_int),
    case("total_steps", lambda v: lrlib.Cosine(v), bad_int),
    case("end", lambda v: lrlib.Cosine(10, v), st.one_of(bad_real, reals(1.0001, 1e9))),
    case("start", lambda v: lrlib.Cyclic(v), bad_real),
    case("step_size_up", lambda v: lrlib.Cyclic(0.1, v), bad_int),
    case("mode", lambda v: lrlib.Cyclic(0.1, 5, mode=v),
         other_text("triangular", "triangular2", "exp_range")),
    case("gamma", lambda v: lrlib.Plateau(gamma=v), st.one_of(bad_real, reals(1.0, 1e6))),
    case("patience", lambda v: lrlib.Plateau(patience=v), neg_int),
    case("step", lambda v: lrlib.Cosine(10)(v), bad_real),
    case("total_steps", lambda v: OneCycle(v), bad_int),
    case("pct_start", lambda v: OneCycle(100, v), st.one_of(bad_real, reals(1.0, 10.0))),
    case("shape", lambda v: OneCycle(100, shape=v), st.text(max_size=5)),
    case("div_factor", lambda v: OneCycle(100, div_factor=v), st.one_of(bad_real, reals(0.0, 0.999))),
    case("pct_final", lambda v: OneCycle(100, 0.2, three_phase=True, pct_final=v),
         st.one_of(st.sampled_from([math.nan, math.inf, "0.5"]), reals(-1.0, 0.2), reals(1.0, 9.0))),
    case("pct_final", lambda v: OneCycle(100, 0.2, pct_final=v), unit),
    case("phase_ends", lambda v: OneCycle(100, phase_ends=v), other_text("torch", "optax")),
    case("cycle_steps", lambda v: Restarts(v), below_one),
    case("cycle_mult", lambda v: Restarts(10, v), below_one),
    case("cycle_decay", lambda v: Restarts(10, cycle_decay=v), bad_gamma),
    case("cycle_limit", lambda v: Restarts(10, cycle_limit=v), bad_int),
    case("cycle_decay_mode", lambda v: Restarts(10, cycle_decay_mode=v), other_text("peak", "amplitude")),
    case("k_decay", lambda v: Restarts(10, k_decay=v), st.one_of(bad_real, st.just(0.0))),
    case("power", lambda v: lrlib.Polynomial(10, power=v), st.one_of(bad_real, st.just(0.0))),
    case("end", lambda v: lrlib.Polynomial(10, end=v), st.one_of(bad_real, reals(1.001, 9.0))),
    case("decay_rate", lambda v: lrlib.InverseTime(v), bad_real),
    case("warmup_steps", lambda v: lrlib.InverseSqrt(v), neg_int),
    case("timescale", lambda v: lrlib.InverseSqrt(10, v), bad_int),
    case("total_steps", lambda v: lrlib.Linear(0, 1, v), bad_int),
    case("warmup_steps", lambda v: Warmup(lrlib.Constant(), v), bad_int),
    case("main", lambda v: Warmup(v, 10), st.one_of(st.none(), st.integers(), st.text(max_size=3))),
    case("start", lambda v: Warmup(lrlib.Constant(), 10, "exponential", v),
         st.one_of(bad_real, st.just(0.0), reals(1.01, 5.0))),
    case("prefix", lambda v: Warmup(lrlib.Constant(), 10, prefix=v),
         st.one_of(st.integers(), st.text(max_size=3), st.none())),
    case("boundaries", lambda k: lrlib.Join([lrlib.Constant()] * 2, [5] * k),
         st.integers(min_value=0, max_value=5).filter(lambda k: k != 1)),
    case("schedules", lambda v: lrlib.Join([lrlib.Constant(), v], [5]),
         st.one_of(st.none(), st.floats(), st.text(max_size=3))),
    case("xs", lambda xs: lrlib.PiecewiseLinear(xs, [1.0] * len(xs)),
         unsorted(st.lists(st.integers(min_value=0, max_value=9), min_size=2, max_size=5))),
    case("shape", lambda v: lrlib.WSD(100, 20, 10, v), other_text("linear", "cosine", "1-sqrt", size=6)),
    case("start", lambda v: lrlib.WSD(100, 20, 10, start=v), st.one_of(bad_real, reals(1.001, 9.0))),
    case("warmup_steps + cooldown_steps", lambda w: lrlib.WSD(100, 50, w),
         st.integers(min_value=51, max_value=1000)),
)


@settings(max_examples=300, deadline=None)
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
    st.tuples(st.just("seed"), st.fixed_dictionaries(
        {"seed": st.one_of(st.integers(max_value=-1), st.floats())})),
    st.tuples(st.just("epochs"), st.fixed_dictionaries({"epochs": bad_int})),
    st.tuples(st.just("optimizer"), st.fixed_dictionaries(
        {"optimizer": st.text(max_size=6).filter(lambda s: s not in ("sgd", "adam"))})),
)


@settings(max_examples=150, deadline=None)
@given(bad_train_kwargs)
def test_generated_bad_training_arguments_are_rejected(case):
    from lrlib import train

    param, kwargs = case
    with pytest.raises(ValueError) as info:
        train.train(budget="smoke", **kwargs)
    assert param in str(info.value)


# ----------------------------------------------------------------------------- huge steps, numpy inputs
HUGE_CASES = [  # each raised OverflowError/ValueError, or returned a complex number, in lrlib 0.2.0
    (lrlib.Polynomial(3, power=0.5, cycle=True), 10**17 + 9),
    (lrlib.Polynomial(7, 0.1, 0.5, cycle=True), 10**400),
    (lrlib.StepDecay(7, 0.5), 10**400),
    (lrlib.Exponential(0.9), 10**400),
    (lrlib.Exponential(0.9, 7, staircase=True), 10**400),
    (lrlib.InverseTime(0.5, 7), 10**400),
    (lrlib.InverseTime(0.0, 7, staircase=True), 10**400),
    (lrlib.Cyclic(0.1, 7), 10**400),
    (lrlib.Cyclic(0.1, 7, 3, "triangular2"), 10**400),
    (lrlib.Cyclic(0.1, 7, 3, "exp_range", 0.99), 10**400),
    (lrlib.CosineRestarts(7), 10**400),
    (lrlib.CosineRestarts(7, 2, 0.5, 0.1), 10**400),
    (lrlib.CosineRestarts(1000, 2, 0.5, 0.1), 1.7e308),
    (lrlib.CosineRestarts(1, 3, 0.5, 0.1), 1.7e308),
    (lrlib.Warmup(lrlib.Exponential(0.9), 10), 10**400),
    (lrlib.Join([lrlib.Constant(), lrlib.StepDecay(3)], [10]), 10**400),
]


@pytest.mark.parametrize("s,t", HUGE_CASES, ids=[
    f"{type(s).__name__}-{i}" for i, (s, _) in enumerate(HUGE_CASES)])
def test_huge_steps_give_a_float_in_bounds(s, t):
    v = s(t)
    lo, hi = s.bounds()
    assert type(v) is float and math.isfinite(v) and lo <= v <= hi


def test_integer_steps_are_exact_where_floats_are_not():
    # 10**17 + 9 is a float's 10**17 + 8: lrlib keeps integer steps as integers
    assert lrlib.Polynomial(3, cycle=True)(10**17 + 9) == pytest.approx(2 / (10**17 + 11))
    assert lrlib.Cyclic(0.0, 5)(10**30 + 5) == 1.0 and lrlib.Cyclic(0.0, 5)(10**30 + 10) == 0.0
    s = lrlib.CosineRestarts(7, 2)  # cycle i starts at 7 (2**i - 1)
    assert s.position(7 * (2**100 - 1)) == (100, 0.0) and s(7 * (2**100 - 1)) == 1.0
    assert s.position(7 * (2**100 - 1) - 1)[0] == 99


def _all_plain(value) -> bool:
    if isinstance(value, lrlib.Schedule):
        return all(_all_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if type(value) is tuple:
        return all(_all_plain(v) for v in value)
    return value is None or type(value) in (int, float, bool, str)


def test_numpy_inputs_are_stored_as_plain_python():
    np = pytest.importorskip("numpy")
    i, f = np.int64, np.float64
    made = [
        lrlib.Constant(f(0.5)),
        lrlib.StepDecay(i(10), f(0.5)),
        lrlib.MultiStep(np.array([5, 10, 30]), f(0.1)),
        lrlib.Exponential(f(0.9), i(10), np.bool_(True)),
        lrlib.Cosine(i(100), f(0.1)),
        lrlib.Cyclic(f(0.1), i(10), i(5), "triangular2", f(0.9), f(1.0)),
        lrlib.Linear(f(0.0), f(1.0), i(10)),
        lrlib.Polynomial(i(100), f(0.1), f(2.0), np.bool_(True)),
        lrlib.InverseTime(f(0.5), i(10), np.bool_(False)),
        lrlib.InverseSqrt(i(10), i(100)),
        lrlib.OneCycle(i(1000), f(0.25), "linear", f(10.0), f(100.0), np.bool_(True), f(0.6), "optax"),
        lrlib.OneCycle(i(1000)).momentum(f(0.8), f(0.9)),
        lrlib.CosineRestarts(f(250.0), f(1.5), f(0.5), f(0.1), i(3), "amplitude", f(2.0)),
        lrlib.CosineRestarts(f(1000 / 6), i(1), cycle_limit=i(6)),
        lrlib.Join([lrlib.Constant(f(0.1)), lrlib.Cosine(i(90))], np.array([10])),
        lrlib.Warmup(lrlib.Cosine(i(100)), i(10), "exponential", f(0.1), np.bool_(False)),
        lrlib.PiecewiseLinear(np.linspace(0, 100, 5), np.linspace(1, 0, 5)),
        lrlib.Cooldown(i(10), "cosine", f(1.0), f(0.1)),
        lrlib.WSD(i(100), i(20), i(10), "linear", f(0.1), f(0.05)),
        lrlib.anytime_cooldown(lrlib.WSD(i(100), i(20)), at=i(50), cooldown_steps=i(10), end=f(0.0)),
    ]
    for s in made:
        assert _all_plain(s), s
        assert json.loads(json.dumps(s.to_config())) == s.to_config()
        for step in (np.int64(5), np.float64(5.0), np.int32(5)):
            v = s(step)
            assert type(v) is float and v == s(5)
