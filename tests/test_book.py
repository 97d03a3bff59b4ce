"""The book: notebooks committed clean with the setup cell, every TOC entry present, and the whole
book built at the smoke budget with warnings as errors (in its own folder: jupyter-cache keys on
code only, so a smoke build must never share the real build's cache)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _toc_files() -> list[str]:
    return re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    files = _toc_files()
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in files, f"{nb.name} is not in _toc.yml"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_starts_with_the_setup_cell(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "outputs committed"
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    setup = "".join(code[0]["source"])
    for needle in ("google.colab", "pip", "git+https://", "sys.path.insert", "book.setup()"):
        assert needle in setup, f"setup cell lacks {needle!r}"


def test_book_builds_with_warnings_as_errors(tmp_path):
    env = {**os.environ, "LRLIB_BUDGET": "smoke", "LRLIB_PROGRESS": "0"}
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "--keep-going", "--path-output", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    html = tmp_path / "_build" / "html"
    pages = {p.relative_to(html).as_posix(): p.read_text() for p in html.rglob("*.html")}
    for f in _toc_files():
        assert f"{f}.html" in pages, f"{f} was not built"
    for name, text in pages.items():
        if not name.startswith("book/"):
            continue
        for bad in ("IProgress not found", "Traceback (most recent call last)", "Warning:", "widget-view"):
            assert bad not in text, f"{bad!r} in {name}"
    for nb in NOTEBOOKS:
        page = pages[f"book/{nb.stem}.html"]
        assert "<img" in page, f"{nb.name} has no figure"
        assert 'class="pasted-text"' in page or "pasted-inline" in page, f"{nb.name} glues no numbers"


def test_translation_table_rows_are_backed_by_existing_tests():
    text = (ROOT / "book" / "translation.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| `")]
    assert len(rows) >= 20
    defined = set()
    for f in (ROOT / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", f.read_text(), re.M))
    for row in rows:
        names = re.findall(r"`(test_\w+\*?)`", row.split("|")[-2])
        files = re.findall(r"`(test_\w+\.py)`", row.split("|")[-2])
        assert names or files, f"row without a test: {row[:60]}"
        for n in names:
            pattern = re.compile(n.replace("*", r"\w*") + "$")
            assert any(pattern.match(d) for d in defined), f"{n} is named in translation.md but not defined"
        for f in files:
            assert (ROOT / "tests" / f).exists(), f
