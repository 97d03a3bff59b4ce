"""Two ways to get lrlib into another project: `pip install .` into a fresh venv, and copying the
folder (or just its core files) next to your code. Either way `import lrlib` must work with no
dependency at all, and the PyTorch adapters with torch alone (tests/test_core_without_torch.py
checks the torch-free half in a venv without torch)."""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_core() -> list[str]:
    """The core files exactly as the README names them (its "copy just its core" sentence)."""
    text = (ROOT / "README.md").read_text()
    sentence = re.search(r"copy `lrlib` \(or just its core: (.*?)\)", text, re.S)
    assert sentence, "README must name the core files: 'copy `lrlib` (or just its core: ...)'"
    return re.findall(r"`lrlib/(\w+\.py)`", sentence.group(1))


CORE = _readme_core()

# a script that refuses the harness's dependencies, then trains a little with lrlib
USE = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in ("matplotlib", "mlxtend", "torchvision", "lightning", "transformers"):
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Block())
    import torch, lrlib
    print(lrlib.__file__)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, lrlib.Warmup(lrlib.Cosine(20), 5))
    for _ in range(25):
        loss = model(torch.ones(4, 3)).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    assert abs(opt.param_groups[0]["lr"]) < 1e-12, opt.param_groups[0]["lr"]
    print("ok")
""")


def _torch_site() -> str:
    import torch

    return str(pathlib.Path(torch.__file__).resolve().parent.parent)


def test_pip_install_into_a_fresh_venv(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # Build the wheel with this environment's setuptools, then install it with this pip into the fresh
    # venv. --no-deps: torch is 5 GB; it is made visible below instead, so this tests our packaging.
    pip = [sys.executable, "-m", "pip"]
    proc = subprocess.run(pip + ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                                 str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("lrlib-*.whl"))
    proc = subprocess.run(pip + ["--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh_site = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    pathlib.Path(fresh_site, "torch_from_host.pth").write_text(_torch_site() + "\n")
    meta = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.requires('lrlib'))"],
                          capture_output=True, text=True, check=True).stdout
    requires = eval(meta)
    assert [r for r in requires if "extra ==" not in r] == [], requires  # the core needs nothing
    assert any("extra == \"torch\"" in r and r.startswith("torch") for r in requires), requires
    assert any("extra == \"book\"" in r and "matplotlib" in r for r in requires)
    out = subprocess.run([str(py), "-c", USE], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert str(env_dir) in out.stdout and out.stdout.strip().endswith("ok")


@pytest.mark.parametrize("what", ["folder", "core files"])
def test_copying_lrlib_into_a_project(tmp_path, what):
    dest = tmp_path / "myproject" / "lrlib"
    if what == "folder":
        shutil.copytree(ROOT / "lrlib", dest, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        dest.mkdir(parents=True)
        for f in CORE:
            shutil.copy(ROOT / "lrlib" / f, dest / f)
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(dest.parent)!r}, "
                          f"{_torch_site()!r}]\n" + USE], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert str(dest) in out.stdout


def test_the_readme_names_every_module_the_core_imports():
    assert CORE and "__init__.py" in CORE
    for f in CORE:
        for mod in re.findall(r"^from \.(\w+) import", (ROOT / "lrlib" / f).read_text(), re.M):
            assert f"{mod}.py" in CORE, f"{f} imports lrlib/{mod}.py, which the README's core list omits"


def test_core_files_import_nothing_but_torch_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"torch", "lrlib", ""}
    for f in CORE:
        src = (ROOT / "lrlib" / f).read_text()
        for mod in __import__("re").findall(r"^\s*(?:from|import)\s+([\w.]*)", src, __import__("re").M):
            assert mod.split(".")[0] in allowed, f"{f} imports {mod}"
