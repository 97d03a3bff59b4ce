"""The book: notebooks committed clean with the setup cell, every TOC entry present, the whole book
built at the smoke budget with warnings as errors (in its own folder: jupyter-cache keys on code only,
so a smoke build must never share the real build's cache), and that build opened in a real browser
(headless Chromium through Playwright): every page loads with no console errors, every image loads,
the math renders, internal links resolve; a screenshot of one chapter goes to ``_build/screenshots/``.
The browser test needs Debian's ``chromium`` (``.ci/run`` installs it) and is skipped without it."""
from __future__ import annotations

import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse

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


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_book_column(nb):
    """Code wider than 79 characters is cut off (or scrolls) in the book's HTML column."""
    cells = json.loads(nb.read_text())["cells"]
    wide = [line for c in cells if c["cell_type"] == "code"
            for line in "".join(c["source"]).splitlines() if len(line) > 79]
    assert not wide, f"{len(wide)} code lines over 79 characters, e.g. {wide[0]!r}"


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The whole book built once at the smoke budget, warnings as errors: ``(html_dir, log)``.

    Stray Markdown files in cache folders at the root (what ``make test`` leaves behind before a
    ``make book``) are planted first: the build must ignore them, in whichever order the README's
    two commands run."""
    out = tmp_path_factory.mktemp("book")
    strays = [ROOT / ".pytest_cache" / "lrlib-stray.md", ROOT / ".hypothesis" / "README.md",
              ROOT / "book" / ".ipynb_checkpoints" / "stray.md"]
    for stray in strays:  # all three folders are in .gitignore
        stray.parent.mkdir(exist_ok=True)
        stray.write_text("# A stray page\n\nNot part of the book.\n")
    env = {**os.environ, "LRLIB_BUDGET": "smoke", "LRLIB_PROGRESS": "0"}
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "--keep-going", "--path-output", str(out)],
                          env=env, capture_output=True, text=True, timeout=900)
    for stray in strays:
        stray.unlink()
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return out / "_build" / "html"


def test_book_builds_with_warnings_as_errors(built_book):
    html = built_book
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
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not shipped with the book"


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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(built_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    handler = functools.partial(Quiet, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_every_page_in_a_real_browser(built_book, server):
    sync_api = pytest.importorskip("playwright.sync_api")
    pages = sorted(p.relative_to(built_book).as_posix() for p in built_book.glob("book/*.html"))
    assert len(pages) >= 8
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        links: dict[str, set[str]] = {}
        explorers = 0
        for name in pages:
            errors.clear()
            page.goto(f"{server}/{name}", wait_until="load")
            if page.locator(".math").count():
                page.wait_for_selector("mjx-container", timeout=15000)
                if page.locator("mjx-merror").count():
                    problems.append(f"{name}: MathJax error")
            broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                                   ".map(i => i.src)")
            problems += [f"{name}: image did not load: {src}" for src in broken]
            problems += [f"{name}: {e}" for e in errors]
            hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
            links[name] = {h for h in hrefs if h.startswith(server)}
            # glued phrases read as prose (book/_ext/static/lrlib.css), not as walls of bold
            heavy = page.evaluate("Array.from(document.querySelectorAll('p span.pasted-text')).filter(s => "
                                  "getComputedStyle(s).fontWeight !== getComputedStyle(s.parentElement).fontWeight)"
                                  ".map(s => s.textContent.slice(0, 40))")
            problems += [f"{name}: glued text in another weight than its sentence: {t!r}" for t in heavy]
            if name == "book/cosine.html":
                page.screenshot(path=str(shots / "cosine.png"), full_page=True)
            for fig in page.evaluate(EXPLORE_JS):
                explorers += 1
                problems += [f"{name}: {p}" for p in _explorer_problems(fig)]
            if page.locator(".lrlib-explorer").count():
                page.locator(".lrlib-explorer").first.scroll_into_view_if_needed()
                page.locator(".lrlib-explorer").first.screenshot(path=str(shots / f"explorer-{name[5:-5]}.png"))
        browser.close()
    assert explorers >= 6, f"only {explorers} interactive figures in the book"
    ids_cache: dict[pathlib.Path, set[str]] = {}
    for name, hrefs in links.items():
        for href in hrefs:
            url = urllib.parse.urlparse(href)
            target = built_book / urllib.parse.unquote(url.path.lstrip("/"))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{name}: broken link {href}")
                continue
            if url.fragment and target.suffix == ".html":
                if target not in ids_cache:
                    ids_cache[target] = set(re.findall(r'id="([^"]+)"', target.read_text()))
                if url.fragment not in ids_cache[target]:
                    problems.append(f"{name}: link to a missing anchor {href}")
    assert not problems, "\n".join(sorted(set(problems))[:40])
    assert (shots / "cosine.png").stat().st_size > 10_000


# For every interactive figure of a page: its data, then for the first and the last slider position
# (set as a reader would, with an input event) the curve read back from the SVG's pixels, and the
# hover readout at a point a third of the way along.
EXPLORE_JS = """
() => Array.from(document.querySelectorAll('.lrlib-explorer')).map(root => {
  const out = {id: root.id, ready: root.dataset.ready === '1',
               data: JSON.parse(root.querySelector('script.lrlib-explorer-data').textContent),
               box: Object.assign({}, root.dataset), drawn: {}, readout: null};
  const slider = root.querySelector('input.lrlib-slider');
  if (!out.ready || !slider) return out;
  for (const k of [0, Number(slider.max)]) {
    slider.value = k;
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    out.drawn[k] = {index: root.dataset.index, value: root.querySelector('output.lrlib-value').textContent,
                    points: root.querySelector('polyline.lrlib-curve').getAttribute('points')};
  }
  const svg = root.querySelector('svg'), r = svg.getBoundingClientRect();
  const x0 = Number(root.dataset.px0), x1 = Number(root.dataset.px1);
  const x = r.left + (x0 + (x1 - x0) / 3) / 640 * r.width;
  svg.dispatchEvent(new PointerEvent('pointermove', {clientX: x, clientY: r.top + r.height / 2}));
  out.readout = root.querySelector('text.lrlib-readout').textContent;
  return out;
})
"""


def _explorer_problems(fig: dict) -> list[str]:
    """What is wrong with one interactive figure: its data must be lrlib's schedules evaluated at
    its steps, and the curve drawn for each slider position must be that data, read off the pixels
    (to half a pixel)."""
    import math

    import lrlib

    d, box, out = fig["data"], fig["box"], []
    if not fig["ready"]:
        return [f"{fig['id']} was not drawn"]
    steps = d["steps"]
    for cfg, curve in zip(d["configs"], d["curves"]):
        s = lrlib.from_config(cfg)
        if any(not math.isclose(d["base_lr"] * s(t), y, rel_tol=1e-12, abs_tol=1e-15) for t, y in zip(steps, curve)):
            out.append(f"{fig['id']}: data differ from lrlib's {cfg.get('name')}")
    f = {k: float(v) for k, v in box.items() if k in ("x0", "x1", "y0", "y1", "px0", "px1", "py0", "py1")}
    log = box.get("log") == "1"
    tr = (lambda v: math.log10(v)) if log else (lambda v: v)
    for k, drawn in fig["drawn"].items():
        k = int(k)
        if drawn["index"] != str(k) or drawn["value"] != f"= {d['values'][k]}":
            out.append(f"{fig['id']}: the slider did not move to position {k}")
            continue
        pts = [tuple(map(float, p.split(","))) for p in drawn["points"].split()]
        if len(pts) != len(steps):
            out.append(f"{fig['id']}: {len(pts)} points drawn for {len(steps)} steps")
            continue
        yscale = (f["py1"] - f["py0"]) / (tr(f["y1"]) - tr(f["y0"]))
        xscale = (f["px1"] - f["px0"]) / (f["x1"] - f["x0"])
        for t, y, (px, py) in zip(steps, d["curves"][k], pts):
            want = (f["px0"] + (t - f["x0"]) * xscale, f["py0"] + (tr(y) - tr(f["y0"])) * yscale)
            if abs(px - want[0]) > 0.5 or abs(py - want[1]) > 0.5:
                out.append(f"{fig['id']}: position {k} draws step {t} at {px, py}, not {want}")
                break
    if not fig["readout"] or not fig["readout"].startswith(f"{d['x']} "):
        out.append(f"{fig['id']}: hovering shows {fig['readout']!r}")
    return out


def test_repository_settings_live_in_one_place():
    """_config.yml holds the repository URL; the setup cells, pyproject and README must agree with it."""
    config = (ROOT / "_config.yml").read_text()
    url = re.search(r"repository:\s*\n\s*url:\s*(\S+)", config).group(1)
    assert "colab_url" in config and "binderhub_url" in config
    for nb in NOTEBOOKS:
        setup = "".join(next(c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")["source"])
        assert f"git+{url}" in setup, f"{nb.name}: setup cell installs from another repository"
    assert url in (ROOT / "pyproject.toml").read_text()
    assert url.split("github.com/")[1] in (ROOT / "README.md").read_text()


def test_budget_facts_typed_in_the_readme_and_intro_match_the_cpu_budget():
    """README and intro.md are not executed, so the cpu budget's facts they state are checked here."""
    from lrlib import book
    from lrlib.train import BUDGETS

    cpu = BUDGETS["cpu"]
    share = book.noise(cpu).split(" of the")[0]  # "a fifth"
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `cpu` |"))
    assert f"{cpu.n_train:,} + {cpu.n_val:,} MNIST digits" in row and f"{cpu.epochs} epochs" in row
    assert f"{len(cpu.lrs)} peak LRs" in row and f"{len(cpu.sweep_seeds)} sweep seeds + {len(cpu.seeds)} seeds" in row
    assert (f"{share} of the training labels" in row) == bool(cpu.label_noise)
    intro = " ".join((ROOT / "book" / "intro.md").read_text().split())
    assert f"{cpu.n_train:,} MNIST digits" in intro
    assert (f"{share} of them deliberately mislabelled" in intro) == bool(cpu.label_noise)
