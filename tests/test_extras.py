"""Each optional extra installs into a fresh virtual environment from the package index.

``.[jax,keras]`` is installed for real (no torch: Keras runs on its JAX backend there) and both
adapters are exercised in it: a Keras model trains under an lrlib schedule and applies lrlib's LR,
and an optax optimizer steps inside ``jax.jit`` under another. ``.[torch]`` and ``.[book]`` pull
in PyTorch (gigabytes of CUDA wheels), so pip resolves them (``--dry-run``) and the test checks
that the resolution installs the pinned torch; the project's own venv runs everything else on torch.
Skipped only where a virtual environment cannot be created.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import importlib.util, os
    assert importlib.util.find_spec("torch") is None, "torch must not be installed by .[jax,keras]"
    import jax, jax.numpy as jnp, keras, numpy as np, optax
    import lrlib, lrlib.optax
    from lrlib.keras import KerasSchedule
    assert keras.backend.backend() == "jax"

    # Keras: the LR applied at every fit step is lrlib's
    sched = lrlib.Warmup(lrlib.Cosine(20, end=0.1), 4)
    seen = []
    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            opt = self.model.optimizer
            seen.append(float(keras.ops.convert_to_numpy(opt.learning_rate)))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(KerasSchedule(sched, 0.5, total_steps=24)), "mse")
    x = np.random.default_rng(0).normal(size=(48, 3)).astype("float32")
    model.fit(x, x[:, :1], batch_size=2, epochs=1, verbose=0, callbacks=[Watch()])
    want = [np.float32(0.5 * sched(t)) for t in range(24)]
    assert seen == want, (seen[:5], want[:5])

    # optax: the adapter's updates inside jit equal optax's own cosine
    mine = optax.sgd(lrlib.optax.schedule(lrlib.Cosine(50, end=0.1), 0.3), momentum=0.9)
    theirs = optax.sgd(optax.cosine_decay_schedule(0.3, 50, alpha=0.1), momentum=0.9)
    def run(opt):
        p = jnp.ones(4)
        s = opt.init(p)
        @jax.jit
        def step(p, s):
            g = jax.grad(lambda q: jnp.sum((q - 2.0) ** 2))(p)
            u, s = opt.update(g, s, p)
            return optax.apply_updates(p, u), s
        out = []
        for _ in range(60):
            p, s = step(p, s)
            out.append(p)
        return jnp.stack(out)
    diff = float(jnp.max(jnp.abs(run(mine) - run(theirs))))
    assert diff < 1e-5, diff
    print("ok", len(seen), diff)
""")


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    where = tmp_path_factory.mktemp("extras") / "venv"
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
    except Exception as e:  # pragma: no cover - e.g. no ensurepip on this Python
        pytest.skip(f"cannot create a virtual environment here: {e}")
    return where / "bin" / "python"


def test_jax_and_keras_extras_install_and_drive_their_frameworks(fresh_venv, tmp_path):
    pip = subprocess.run([str(fresh_venv), "-m", "pip", "install", "-q", f"{ROOT}[jax,keras]"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-2000:]
    run = subprocess.run([str(fresh_venv), "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path,
                         env={"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr[-3000:]


@pytest.mark.parametrize("extra", ["torch", "book"])
def test_torch_extras_resolve_to_the_pinned_torch(fresh_venv, tmp_path, extra):
    report = tmp_path / "report.json"
    pip = subprocess.run([str(fresh_venv), "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                          "--report", str(report), f"{ROOT}[{extra}]"], capture_output=True, text=True, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-2000:]
    chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    assert "torch" in chosen
    version = tuple(int(x) for x in chosen["torch"].split("+")[0].split(".")[:3])
    assert version <= (2, 14, 1), chosen["torch"]
    if extra == "book":
        for name in ("matplotlib", "pandas", "keras", "schedulefree", "mlxtend"):
            assert name in chosen, name
