"""lrlib.optax.schedule in real optax: an optimizer driven by lrlib's schedule (through the value
table, inside jax.jit) makes the same updates as the same optimizer driven by optax's own
equivalent schedule, over 400 steps of a small non-linear regression, at settings where the
conventions could differ (non-zero floors, warmup from a non-zero start, a staircase that starts
late, steps past the schedule's end), for SGD with momentum and for AdamW.

How close: every update and every parameter after every step, each compared at the scale of its
array at that step (max |ours - theirs| / max |theirs|).
* float64 (jax_enable_x64): within 1e-11 (measured: at most 8e-13; the last ulp of a cosine
  differs between XLA and Python's math, and 400 steps of training carry it along). optax's own
  schedules compute in float32 when given optax's int32 step count, even under x64, so here they
  are given the count as int64; lrlib's table is float64 whatever the count's type.
* float32 (jax's default): within 5e-4 (measured: at most 6e-5). optax computes its schedule in
  float32 operations, lrlib in float64 rounded once, so the LRs differ in their last bits and
  AdamW's normalised steps carry those differences along.
"""
from __future__ import annotations

import math

import pytest

import lrlib

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import lrlib.optax  # noqa: E402

STEPS = 400
PEAK = 0.05


@pytest.fixture(params=["float64", "float32"])
def precision(request):
    """jax_enable_x64 on or off for one test; the previous setting (another module may have
    turned it on for the whole session) is restored afterwards."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", request.param == "float64")
    yield request.param
    jax.config.update("jax_enable_x64", old)


def pairs():
    """(name, lrlib schedule, total_steps for the table, optax's own schedule at peak PEAK)."""
    start, w = 0.1, 40
    return [
        ("cosine, floor, past its end", lrlib.Cosine(300, end=0.1), None,
         optax.cosine_decay_schedule(PEAK, 300, alpha=0.1)),
        ("staircase starting late", lrlib.Join([lrlib.Constant(), lrlib.Exponential(0.7, 25, True)], [60]), STEPS,
         optax.exponential_decay(PEAK, 25, 0.7, transition_begin=60, staircase=True)),
        ("warmup cosine", lrlib.Warmup(lrlib.Cosine(320 - w, 0.05), w, start=start), STEPS,
         optax.warmup_cosine_decay_schedule(start * PEAK, PEAK, w, 320, end_value=0.05 * PEAK)),
        ("linear one-cycle", lrlib.OneCycle(350, 0.3, "linear", 25.0, 1e4, True, 0.85, phase_ends="optax"), None,
         optax.linear_onecycle_schedule(350, PEAK, pct_start=0.3, pct_final=0.85, div_factor=25.0,
                                        final_div_factor=1e4)),
    ]


PAIRS = pairs()


def problem():
    """A small non-linear regression: 16 batches of 32, parameters that are not all alike."""
    kx, kw = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (16, 32, 6))
    y = jnp.sin(x @ jnp.linspace(-1.0, 1.0, 6))[..., None]
    params = {"w1": 0.5 * jax.random.normal(kw, (6, 8)), "b1": jnp.zeros(8), "w2": jnp.full((8, 1), 0.1)}

    def loss(p, xb, yb):
        return jnp.mean((jnp.tanh(xb @ p["w1"] + p["b1"]) @ p["w2"] - yb) ** 2)

    return params, x, y, loss


OPTIMIZERS = {
    "sgd+momentum": lambda lr: optax.sgd(lr, momentum=0.9),
    "adamw": lambda lr: optax.adamw(lr, b1=0.9, b2=0.99, weight_decay=0.1),  # the LR also scales the decay
}


def train(lr):
    """Every update each optimizer makes in STEPS steps under learning rate ``lr``, and the
    parameters after each: ``{name: (updates, params)}``, one jitted scan per optimizer."""
    params, x, y, loss = problem()

    @jax.jit
    def run(params):
        out = {}
        for name, make in OPTIMIZERS.items():
            opt = make(lr)

            def step(carry, i, opt=opt):
                p, state = carry
                g = jax.grad(loss)(p, x[i % 16], y[i % 16])
                updates, state = opt.update(g, state, p)
                p = optax.apply_updates(p, updates)
                return (p, state), (updates, p)

            out[name] = jax.lax.scan(step, (params, opt.init(params)), jnp.arange(STEPS))[1]
        return out

    return jax.tree_util.tree_map(lambda a: a.tolist(), run(params))


def assert_close(a, b, tol, where=""):
    """Two pytrees of per-step arrays (nested lists) agree at every step to ``tol`` times the
    largest magnitude of ``b`` at that step."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_close(a[k], b[k], tol, f"{where}/{k}")
    elif isinstance(a, tuple):
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert_close(u, v, tol, f"{where}[{i}]")
    else:
        assert len(a) == len(b) == STEPS, where
        for t, (u, v) in enumerate(zip(a, b)):
            u, v = _flat(u), _flat(v)
            scale = max(map(abs, v))
            gap = max(abs(x - y) for x, y in zip(u, v, strict=True))
            assert gap <= tol * scale, f"{where} step {t}: max gap {gap:.3g} at scale {scale:.3g}"


def _flat(x):
    return [z for y in x for z in _flat(y)] if isinstance(x, list) else [x]


@pytest.mark.parametrize("pair", range(len(PAIRS)), ids=[p[0] for p in PAIRS])
def test_updates_equal_optax_own_schedule_inside_jit(precision, pair):
    _, schedule, total_steps, theirs_schedule = pairs()[pair]
    ours_schedule = lrlib.optax.schedule(schedule, PEAK, total_steps)
    if precision == "float64":
        assert ours_schedule.values.dtype == jnp.float64
        theirs = train(lambda count: theirs_schedule(count.astype(jnp.int64)))
        tol = 1e-11
    else:
        assert ours_schedule.values.dtype == jnp.float32
        theirs = train(theirs_schedule)
        tol = 5e-4
    # every update of SGD with momentum and of AdamW, and every parameter after it
    assert_close(train(ours_schedule), theirs, tol)


def test_the_schedules_change_the_updates():
    """The comparison above is not vacuous: at a constant PEAK both optimizers end elsewhere."""
    ours = train(lrlib.optax.schedule(PAIRS[2][1], PEAK, STEPS))
    constant = train(PEAK)
    for name in OPTIMIZERS:
        a, b = ours[name][1]["w1"][-1][0][0], constant[name][1]["w1"][-1][0][0]
        assert not math.isclose(a, b, rel_tol=1e-3), (name, a, b)


def test_table_values_and_clipping(precision):
    s = lrlib.Warmup(lrlib.Cosine(90, end=0.2), 10, start=0.1)
    lr = lrlib.optax.schedule(s, 0.3, total_steps=100)
    counts = jnp.arange(0, 300)
    values = jax.jit(jax.vmap(lr))(counts).tolist()
    want = [0.3 * s(min(t, 100)) for t in range(300)]
    if precision == "float64":
        assert values == want  # the table holds lrlib's floats exactly
    else:
        assert values == [float(jnp.float32(v)) for v in want]  # rounded once
    assert float(lr(jnp.int32(2**31 - 1))) == values[-1]  # optax's int32 count at its largest
    assert repr(lr).startswith("lrlib.optax.schedule(Warmup(")


def test_total_steps_default_and_errors():
    assert lrlib.optax.schedule(lrlib.Cosine(300)).total_steps == 300
    assert lrlib.optax.schedule(lrlib.WSD(500, 100, 50)).total_steps == 500
    assert lrlib.optax.schedule(lrlib.OneCycle(200)).total_steps == 200
    for s in (lrlib.Exponential(0.9), lrlib.Warmup(lrlib.Cosine(100), 10),
              lrlib.Polynomial(100, cycle=True)):  # no end of their own (a cycling one restarts)
        with pytest.raises(ValueError, match="total_steps is needed"):
            lrlib.optax.schedule(s, 0.1)
    with pytest.raises(TypeError, match="lrlib Schedule"):
        lrlib.optax.schedule(optax.constant_schedule(0.1), 0.1, 10)
    with pytest.raises(ValueError, match="peak_lr"):
        lrlib.optax.schedule(lrlib.Constant(), float("nan"), 10)


def test_jax_numbers_are_numbers_to_lrlib():
    s = lrlib.Cosine(jnp.int32(100), end=jnp.float32(0.5))
    assert type(s.total_steps) is int and type(s.end) is float and s.end == 0.5
    assert s(jnp.int32(50)) == s(50) == 0.75
