"""lrlib.keras.KerasSchedule in the real Keras 3 (torch backend, set in conftest.py): the LR the
optimizer applies at every step of model.fit is lrlib's value rounded once to float32, training
under it matches training under Keras' own equivalent schedule, and a saved .keras model reloads
with its schedule and resumes exactly. One test trains under the JAX backend, where the training
step is jit-compiled, in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrlib

keras = pytest.importorskip("keras")
from lrlib.keras import KerasSchedule  # noqa: E402

# Keras' torch backend converts tensors with np.array(x), which numpy 2 warns about; not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

PEAK = 0.1
BATCH, N = 8, 64  # 8 updates per epoch


class RecordLR(keras.callbacks.Callback):
    """The optimizer's step counter and learning rate before every update."""

    def on_train_begin(self, logs=None):
        self.steps, self.lrs = [], []

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        self.steps.append(int(opt.iterations))
        self.lrs.append(float(opt.learning_rate))


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 1)) + 0.3 * rng.normal(size=(N, 1))).astype("float32")
    return x, y


def make_model(learning_rate, momentum=0.9):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="mse")
    return model


def fit(model, epochs, initial_epoch=0):
    x, y = data()
    rec = RecordLR()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
              verbose=0, callbacks=[rec])
    return rec


def expected(schedule, steps, peak=PEAK):
    return [float(np.float32(peak * schedule(t))) for t in steps]


@pytest.mark.parametrize("schedule,total_steps", [
    (lrlib.Warmup(lrlib.Cosine(30, end=0.05), 6, start=0.1), 36),  # a table that ends mid-run (clipped)
    (lrlib.OneCycle(40, pct_start=0.3, three_phase=True), 40),
    (lrlib.Exponential(0.9, decay_steps=3, staircase=True), None),  # the Python step
    (lrlib.CosineRestarts(7, cycle_mult=1.5, end=0.1), None),
])
def test_fit_applies_lrlibs_lr_at_every_step(schedule, total_steps):
    model = make_model(KerasSchedule(schedule, PEAK, total_steps))
    rec = fit(model, epochs=6)
    assert rec.steps == list(range(48))
    assert rec.lrs == expected(schedule, rec.steps)  # float32 of lrlib's float64, exactly
    assert int(model.optimizer.iterations) == 48
    if total_steps is not None:
        assert float(model.optimizer.learning_rate) == expected(schedule, [48])[0]


@pytest.fixture
def float64():
    """Keras computing in float64 (its schedules, our table, the weights); floatx restored after."""
    old, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(old)
    keras.config.set_dtype_policy(policy)


def test_training_matches_keras_own_exponential_decay(float64):
    """The LR is not only reported but applied: after 48 updates of SGD with momentum the weights
    equal those under keras.optimizers.schedules.ExponentialDecay. In float64, both sides' LRs
    agree to rounding (1e-15) and so do the weights (rtol 1e-12); in float32, Keras' own
    0.1 * 0.8 rounds one ulp away from lrlib's correctly rounded 0.08 and the weights then drift
    apart by about 1e-6, which is why this comparison runs in float64."""
    ours = make_model(KerasSchedule(lrlib.Exponential(0.8, decay_steps=5, staircase=True), PEAK, 48))
    theirs = make_model(keras.optimizers.schedules.ExponentialDecay(PEAK, 5, 0.8, staircase=True))
    rec_ours, rec_theirs = fit(ours, 6), fit(theirs, 6)
    assert ours.get_weights()[0].dtype == np.float64
    np.testing.assert_allclose(rec_ours.lrs, rec_theirs.lrs, rtol=1e-15)
    assert len(set(rec_ours.lrs)) == 10  # 48 updates, a cut every 5
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    constant = make_model(PEAK)
    fit(constant, 6)
    assert not np.allclose(ours.get_weights()[0], constant.get_weights()[0], rtol=1e-3)


@pytest.mark.parametrize("total_steps", [40, None])
def test_saved_model_reloads_with_its_schedule_and_resumes_exactly(tmp_path, total_steps):
    schedule = lrlib.Warmup(lrlib.Cosine(32, end=0.1), 8)
    model = make_model(KerasSchedule(schedule, PEAK, total_steps))
    fit(model, epochs=2)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    lr = loaded.optimizer._learning_rate
    assert type(lr) is KerasSchedule and lr is not model.optimizer._learning_rate
    assert lr.get_config() == model.optimizer._learning_rate.get_config()
    assert lr.schedule == schedule and lr.peak_lr == PEAK and lr.total_steps == total_steps
    assert int(loaded.optimizer.iterations) == 16
    rec_a, rec_b = fit(model, 5, initial_epoch=2), fit(loaded, 5, initial_epoch=2)
    assert rec_a.steps == rec_b.steps == list(range(16, 40))
    assert rec_a.lrs == rec_b.lrs == expected(schedule, rec_a.steps)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_config_is_plain_json_and_round_trips():
    lr = KerasSchedule(lrlib.Join([lrlib.Linear(0.1, 1.0, 10), lrlib.Exponential(0.5, 20)], [10]), 0.3, 100)
    config = json.loads(json.dumps(lr.get_config()))
    back = KerasSchedule.from_config(config)
    assert back.schedule == lr.schedule and (back.peak_lr, back.total_steps) == (0.3, 100)
    assert repr(back) == repr(lr) and repr(lr).startswith("KerasSchedule(Join(")
    # through Keras' own (de)serialization, by its registered name
    ser = keras.optimizers.schedules.serialize(lr)
    assert ser["registered_name"] == "lrlib>KerasSchedule"
    assert keras.optimizers.schedules.deserialize(json.loads(json.dumps(ser))).get_config() == lr.get_config()


def test_vector_steps_clipping_and_floatx():
    schedule = lrlib.Cosine(100, end=0.1)
    lr = KerasSchedule(schedule, 0.5, total_steps=60)  # a table shorter than the schedule
    values = keras.ops.convert_to_numpy(lr(keras.ops.arange(200)))
    assert values.dtype == np.float32
    assert values.tolist() == expected(schedule, [min(t, 60) for t in range(200)], peak=0.5)
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:  # the table follows floatx: lrlib's float64 values exactly
        assert [float(lr(t)) for t in (0, 30, 60, 61, 10**9)] == [0.5 * schedule(min(t, 60)) for t in
                                                                  (0, 30, 60, 61, 10**9)]
        exact = KerasSchedule(schedule, 0.5)
        assert float(exact(10**9)) == 0.5 * schedule(10**9) == 0.05
    finally:
        keras.config.set_floatx(old)


def test_bad_arguments():
    with pytest.raises(TypeError, match="lrlib Schedule"):
        KerasSchedule(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), 0.1)
    with pytest.raises(ValueError, match="peak_lr"):
        KerasSchedule(lrlib.Constant(), -0.1)
    with pytest.raises(ValueError, match="total_steps"):
        KerasSchedule(lrlib.Constant(), 0.1, total_steps=-1)
    with pytest.raises(ValueError, match="total_steps"):
        KerasSchedule(lrlib.Constant(), 0.1, total_steps=2.5)


JAX_SCRIPT = textwrap.dedent("""
    import json, numpy as np, keras, lrlib
    from lrlib.keras import KerasSchedule
    assert keras.config.backend() == "jax"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32"); y = x[:, :1] ** 2
    schedule = lrlib.Warmup(lrlib.Cosine(30, end=0.05), 6, start=0.1)
    out = {}
    for total in (36, None):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(KerasSchedule(schedule, 0.1, total), 0.9),
                      loss="mse")
        lrs = []
        class Rec(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                lrs.append(float(self.model.optimizer.learning_rate))
        try:
            model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=[Rec()])
            out[str(total)] = lrs
        except ValueError as e:
            out[str(total)] = str(e)
    print(json.dumps(out))
""")


def test_jit_compiled_training_step_under_the_jax_backend(tmp_path):
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", JAX_SCRIPT], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    schedule = lrlib.Warmup(lrlib.Cosine(30, end=0.05), 6, start=0.1)
    assert res["36"] == expected(schedule, range(48))  # the table, indexed inside jit
    assert "Pass total_steps" in res["None"]  # the Python step is not available in a traced step
