"""`import lrlib` needs no framework: the schedules, their composition and the plateau state
machine import only the standard library, and the PyTorch adapters load torch on first use.

The main test installs lrlib with no dependencies into a fresh, plain virtual environment (no
system site-packages, so no torch and no numpy), then evaluates, serializes and round-trips every
schedule there and checks that the values are the ones this (torch-equipped) environment computes.
It is skipped only if a virtual environment cannot be created here.
"""
from __future__ import annotations

import json
import pathlib
import pickle
import shutil
import subprocess
import sys
import textwrap
import venv

import pytest

import lrlib
from lrlib._checks import _REGISTRY

ROOT = pathlib.Path(__file__).resolve().parent.parent

# One instance (or more) of every lrlib class, at settings that exercise their options. The same
# source is evaluated here and in the torch-free venv.
SAMPLES = """[
    lrlib.Constant(0.3),
    lrlib.StepDecay(7, gamma=0.5),
    lrlib.MultiStep([5, 40, 90], gamma=0.3),
    lrlib.Exponential(0.96, decay_steps=10, staircase=True),
    lrlib.Exponential(0.5, decay_steps=25),
    lrlib.Cosine(100, end=0.1),
    lrlib.Cyclic(0.1, step_size_up=20, step_size_down=30, mode="exp_range", gamma=0.99),
    lrlib.Linear(0.2, 1.0, 50),
    lrlib.Polynomial(80, end=0.05, power=2.5, cycle=True),
    lrlib.InverseTime(0.5, decay_steps=10, staircase=True),
    lrlib.InverseSqrt(warmup_steps=20),
    lrlib.OneCycle(120, pct_start=0.25, three_phase=True),
    lrlib.OneCycle(120, shape="linear", three_phase=True, pct_final=0.8,
                   phase_ends="optax"),
    lrlib.OneCycleMomentum(lrlib.OneCycle(120)),
    lrlib.CosineRestarts(30, cycle_mult=1.5, cycle_decay=0.7, end=0.05, cycle_limit=4),
    lrlib.Join([lrlib.Constant(0.1), lrlib.Cosine(60, end=0.01)], [15]),
    lrlib.Warmup(lrlib.Exponential(0.9, 10), 12, shape="exponential", start=0.1),
    lrlib.PiecewiseLinear([0, 10, 30.5, 90], [0.0, 1.0, 0.4, 0.0]),
    lrlib.Cooldown(40, "1-sqrt", start=0.8, end=0.1),
    lrlib.WSD(150, cooldown_steps=30, warmup_steps=10, shape="cosine", end=0.02),
    lrlib.anytime_cooldown(lrlib.Constant(), at=70, cooldown_steps=20, shape="linear"),
]"""
STEPS = [0, 1, 2, 5, 7, 11.5, 15, 29, 30, 50, 99, 100, 101, 149, 150, 1000, 10**6, 10**30]
METRICS = [1.0, 0.9, 0.95, 0.97, "nan", 0.96, 0.5, 0.6, 0.61, 0.62]  # "nan": float("nan")

# Runs in the venv (and, for comparison, here): values, configs, round trips, no framework imported.
SCRIPT = textwrap.dedent("""
    import importlib.util, json, pickle, sys
    mode = sys.argv[1]
    if mode == "venv":  # the test means something only where torch and numpy are absent
        assert importlib.util.find_spec("torch") is None, "torch is importable in the fresh venv"
        assert importlib.util.find_spec("numpy") is None, "numpy is importable in the fresh venv"
    import lrlib
    heavy = sorted(m for m in ("torch", "numpy", "keras", "jax", "matplotlib", "pandas")
                   if m in sys.modules)
    assert not heavy, f"import lrlib imported {heavy}"
    samples = eval(SAMPLES)
    out = {"file": lrlib.__file__, "values": [], "configs": [], "plateau": []}
    for s in samples:
        values = [s(t) for t in STEPS]
        assert all(type(v) is float for v in values), (s, values)
        config = s.to_config()
        back = lrlib.from_config(json.loads(json.dumps(config)))
        assert back == s and repr(back) == repr(s), (s, back)
        assert [back(t) for t in STEPS] == values
        assert pickle.loads(pickle.dumps(s)) == s
        out["values"].append(values)
        out["configs"].append(config)
    p = lrlib.from_config(json.loads(json.dumps(lrlib.Plateau(gamma=0.5, patience=1).to_config())))
    state = lrlib.PlateauState()
    for m in METRICS:
        state = p.update(state, float(m))
        out["plateau"].append([state.scale, state.num_bad, state.evaluations])
    if mode == "venv":
        try:
            lrlib.ScheduledLR
        except ModuleNotFoundError as e:
            assert e.name == "torch" and "lrlib[torch]" in str(e), e
        else:
            raise AssertionError("lrlib.ScheduledLR worked without torch")
        assert "ScheduledLR" not in lrlib.__all__ and "Cosine" in lrlib.__all__
        star = {}
        exec("from lrlib import *", star)
        assert "Cosine" in star and "ScheduledLR" not in star
        for adapter in ("lrlib.keras", "lrlib.optax"):
            try:
                __import__(adapter)
            except ModuleNotFoundError as e:
                assert e.name in ("keras", "jax"), e
            else:
                raise AssertionError(adapter + " imported without its framework")
        import importlib.metadata as md
        requires = md.requires("lrlib") or []
        out["required"] = [r for r in requires if "extra ==" not in r]
        out["extras"] = sorted(md.metadata("lrlib").get_all("Provides-Extra"))
        assert "torch" not in sys.modules and "numpy" not in sys.modules
    print(json.dumps(out))
""")


def _script() -> str:
    return f"SAMPLES = {SAMPLES!r}\nSTEPS = {STEPS!r}\nMETRICS = {METRICS!r}\n" + SCRIPT


def _run(python: str, mode: str, cwd: pathlib.Path) -> dict:
    # -I: isolated mode (no PYTHONPATH, no user site, no script folder on sys.path)
    out = subprocess.run([python, "-I", "-c", _script(), mode], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _names(config) -> set[str]:
    """Every class name in a config, nested ones too."""
    if isinstance(config, dict):
        return {config["name"]} | set().union(*map(_names, config.values()))
    if isinstance(config, list):
        return set().union(*map(_names, config))
    return set()


def test_samples_cover_every_lrlib_class():
    names = set().union(*(_names(s.to_config()) for s in eval(SAMPLES))) | {"Plateau"}
    ours = {n for n in _REGISTRY if "." not in n} - {"Schedule"}  # not users' subclasses
    assert ours <= names, ours - names


@pytest.fixture(scope="module")
def torch_free_venv(tmp_path_factory) -> str:
    """A plain venv (no system site-packages) with lrlib installed from a wheel, with no deps."""
    tmp = tmp_path_factory.mktemp("core-venv")
    env_dir = tmp / "venv"
    try:
        venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    except Exception as e:  # noqa: BLE001 - whatever stops venv creation here
        pytest.skip(f"cannot create a virtual environment here: {e!r}")
    py = env_dir / "bin" / "python"
    if not py.exists():
        pytest.skip("venv created no bin/python")
    # Build from a copy of the package's files, so a parallel build (tests/test_packaging.py)
    # never shares the repository's build/ folder; this environment's setuptools builds it.
    src = tmp / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "lrlib", src / "lrlib", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip"]
    proc = subprocess.run(pip + ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
                                 str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next((tmp / "dist").glob("lrlib-*.whl"))
    proc = subprocess.run(pip + ["--python", str(py), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(py)


def test_every_schedule_works_in_a_venv_without_torch(torch_free_venv, tmp_path):
    theirs = _run(torch_free_venv, "venv", tmp_path)
    assert pathlib.Path(theirs["file"]).is_relative_to(pathlib.Path(torch_free_venv).parent.parent)
    ours = _run(sys.executable, "host", tmp_path)  # this environment, torch installed
    assert theirs["values"] == ours["values"]  # the same floats, bit for bit
    assert theirs["configs"] == ours["configs"]
    assert theirs["plateau"] == ours["plateau"]
    assert theirs["required"] == [], theirs["required"]  # the core installs with no dependency
    assert {"torch", "keras", "jax", "book"} <= set(theirs["extras"]), theirs["extras"]


def test_import_lrlib_does_not_import_torch():
    """In a fresh interpreter of this environment (torch installed): nothing heavy until asked."""
    code = textwrap.dedent("""
        import sys, lrlib
        assert "torch" not in sys.modules and "numpy" not in sys.modules, "eager import"
        lrlib.Cosine(10)(3); lrlib.Plateau().update(lrlib.PlateauState(), 1.0)
        assert "torch" not in sys.modules
        from lrlib import ScheduledLR
        assert "torch" in sys.modules and ScheduledLR is lrlib.scheduler.ScheduledLR
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_torch_adapters_are_still_at_the_top_level():
    import lrlib.scheduler as sch

    assert lrlib.ScheduledLR is sch.ScheduledLR and lrlib.PlateauLR is sch.PlateauLR
    assert lrlib.set_momentum is sch.set_momentum
    assert {"ScheduledLR", "PlateauLR", "set_momentum"} <= set(lrlib.__all__) & set(dir(lrlib))
    ns: dict = {}
    exec("from lrlib import *", ns)
    assert ns["ScheduledLR"] is sch.ScheduledLR
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        lrlib.NoSuchThing  # noqa: B018
    assert not hasattr(lrlib, "NoSuchThing")
    # a pickled scheduler names its class by module, unchanged
    assert pickle.loads(pickle.dumps(sch.ScheduledLR)) is lrlib.ScheduledLR


def test_numbers_from_numpy_and_torch_without_importing_them_in_checks():
    import numpy as np
    import torch

    src = (ROOT / "lrlib" / "_checks.py").read_text()
    assert "import numpy" not in src and "import torch" not in src
    s = lrlib.Cosine(np.int64(100), end=torch.tensor(0.1, dtype=torch.float64))
    assert s == lrlib.Cosine(100, 0.1) and type(s.total_steps) is int and type(s.end) is float
    assert s(torch.tensor(50)) == s(np.int32(50)) == s(50)
    with pytest.raises(ValueError, match="total_steps"):
        lrlib.Cosine(torch.tensor([1, 2]))
