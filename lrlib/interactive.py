"""Interactive schedule figures for the HTML book: hover to read the LR, drag a slider to change
the schedule's main parameter.

Every curve is computed here, by lrlib, when the chapter runs (so the book has one implementation
of each formula); the page only draws the numbers it was given. The figure is self-contained HTML:
an SVG drawn by a few lines of JavaScript that ship inside the page, so it works offline and in
Jupyter, and it needs no plotting package::

    from lrlib import interactive
    interactive.explore(lambda m: lrlib.Cosine(1000, end=m), [0.0, 0.1, 0.2, 0.5],
                        param="end", steps=1000)

In the page, each figure is a ``div.lrlib-explorer`` that holds its data as JSON (every slider
value's schedule config and the LR at each sampled step) and records how it maps data to pixels
(``data-x0``, ``data-x1``, ``data-y0``, ``data-y1`` and the pixel box), so a browser test can
read a curve back off the screen and check it against lrlib.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
from typing import Any, Callable, Mapping, Sequence

from ._checks import check_int
from .schedules import Schedule

__all__ = ["Explorer", "explore", "sample_steps", "SCRIPT"]


def sample_steps(steps: int, points: int = 600) -> list[int]:
    """The steps a figure samples: every step of ``[0, steps)`` if there are at most ``points``,
    else ``points`` evenly spaced ones from 0 to ``steps - 1``, always with both ends."""
    steps = check_int("steps", steps, 1)
    points = check_int("points", points, 2)
    if steps <= points:
        return list(range(steps))
    return sorted({round(i * (steps - 1) / (points - 1)) for i in range(points)})


class Explorer:
    """An interactive figure (what :func:`explore` returns); Jupyter and the book show it through
    :meth:`_repr_html_`. ``data`` is what the page receives."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
        self.id = f"lrlib-explorer-{digest}"

    def __repr__(self) -> str:
        return (f"Explorer({self.data['title']!r}, {self.data['param']}: {len(self.data['values'])} "
                f"values, {len(self.data['steps'])} steps)")

    def _repr_html_(self) -> str:
        payload = json.dumps(self.data, separators=(",", ":")).replace("</", "<\\/")
        return (f'<div class="lrlib-explorer" id="{self.id}">'
                f'<script type="application/json" class="lrlib-explorer-data">{payload}</script>'
                f'<noscript>{html.escape(self.data["title"])} (an interactive figure: it needs '
                f'JavaScript)</noscript></div>'
                f"<script>{SCRIPT}\nwindow.lrlibExplorer.init({json.dumps(self.id)});</script>")


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def explore(make: Callable[[Any], Schedule], values: Sequence[Any], *, param: str, steps: int,
            initial: Any = None, base_lr: float = 1.0, steps_per_epoch: int | None = None,
            title: str | None = None, fixed: Mapping[str, Schedule] | None = None, log: bool = False,
            points: int = 600, x: str = "step") -> Explorer:
    """A figure of ``base_lr * make(v)(t)`` with a slider over ``v`` in ``values``.

    Args:
        make: builds the schedule for one value of the parameter.
        values: the slider's positions (at least two), in order.
        param: the parameter's name, shown next to the slider (``"end"``, ``"gamma"``...).
        steps: the curves cover steps ``0 .. steps - 1``.
        initial: the value the slider starts at (default: the first).
        base_lr: the peak LR the factors multiply (1: the y axis shows factors).
        steps_per_epoch: label the hover readout with the epoch too.
        title: the figure's title (default: the first schedule's class and ``param``).
        fixed: other schedules drawn as thin grey references that do not move with the slider.
        log: a logarithmic LR axis (every value must be positive).
        points: at most this many sampled steps per curve (see :func:`sample_steps`).
        x: what the schedule's argument counts (``"step"``: optimizer steps; ``"evaluation"`` for
            a plateau rule's scale after each evaluation), for the axis and the hover readout.
    """
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"values must hold at least two slider positions, got {values!r}")
    if not isinstance(param, str) or not param:
        raise ValueError(f"param must be a non-empty string, got {param!r}")
    if not isinstance(x, str) or not x:
        raise ValueError(f"x must be a non-empty string, got {x!r}")
    if initial is None:
        initial = values[0]
    if initial not in values:
        raise ValueError(f"initial must be one of values {values!r}, got {initial!r}")
    if not (isinstance(base_lr, (int, float)) and math.isfinite(base_lr) and base_lr > 0):
        raise ValueError(f"base_lr must be a positive number, got {base_lr!r}")
    spe = None if steps_per_epoch is None else check_int("steps_per_epoch", steps_per_epoch, 1)
    ts = sample_steps(steps, points)
    schedules = [make(v) for v in values]
    for v, s in zip(values, schedules):
        if not isinstance(s, Schedule):
            raise ValueError(f"make({v!r}) must return an lrlib Schedule, got {type(s).__name__}")
    curves = [[base_lr * s(t) for t in ts] for s in schedules]
    refs = {name: [base_lr * s(t) for t in ts] for name, s in (fixed or {}).items()}
    every = [y for c in (*curves, *refs.values()) for y in c]
    if log and min(every) <= 0:
        raise ValueError("log needs every plotted LR to be positive; use a floor above 0 or log=False")
    return Explorer({
        "title": title or f"{type(schedules[0]).__name__}: drag {param}",
        "param": param, "values": [_label(v) for v in values], "initial": values.index(initial),
        "steps": ts, "curves": curves, "configs": [s.to_config() for s in schedules],
        "fixed": refs, "base_lr": base_lr, "steps_per_epoch": spe, "log": bool(log),
        "ylabel": "learning rate" if base_lr != 1.0 else "LR factor",
        "x": x, "xlabel": "optimizer step" if x == "step" else x,
    })


# One implementation shared by every figure of a page (defined once, whatever the number of figures).
SCRIPT = r"""
(function () {
  if (window.lrlibExplorer) return;
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 300, L = 62, R = 16, T = 30, B = 40;
  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return (+v.toPrecision(3)).toExponential();
    return String(+v.toPrecision(4));
  }
  function ticks(lo, hi, n) {
    var span = hi - lo, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * mag; })
      .filter(function (s) { return s >= raw; })[0];
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * span; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  function init(id) {
    var root = document.getElementById(id);
    if (!root || root.dataset.ready) return;
    var d = JSON.parse(root.querySelector("script.lrlib-explorer-data").textContent);
    var xs = d.steps, x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1);
    var all = [];
    d.curves.concat(Object.keys(d.fixed).map(function (k) { return d.fixed[k]; }))
      .forEach(function (c) { all = all.concat(c); });
    var ymin = Math.min.apply(null, all), ymax = Math.max.apply(null, all);
    var y0, y1, ly = function (v) { return d.log ? Math.log10(v) : v; };
    if (d.log) { y0 = Math.pow(10, Math.floor(Math.log10(ymin))); y1 = Math.pow(10, Math.ceil(Math.log10(ymax))); }
    else { y0 = Math.min(0, ymin); y1 = ymax > y0 ? ymax * 1.05 : y0 + 1; }
    var px = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    var py = function (y) { return H - B - (ly(y) - ly(y0)) / (ly(y1) - ly(y0)) * (H - T - B); };
    root.dataset.x0 = x0; root.dataset.x1 = x1; root.dataset.y0 = y0; root.dataset.y1 = y1;
    root.dataset.px0 = L; root.dataset.px1 = W - R; root.dataset.py0 = H - B; root.dataset.py1 = T;
    root.dataset.log = d.log ? "1" : "0";
    root.style.maxWidth = W + "px";
    root.style.margin = "0.5em 0 1em 0";
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img",
                         "aria-label": d.title, style: "font: 11px sans-serif; touch-action: none"});
    root.appendChild(svg);
    el("text", {x: L, y: 16, "font-size": 13, "font-weight": "bold"}, svg).textContent = d.title;
    var g = el("g", {stroke: "#ccc", "stroke-width": 0.6}, svg);
    var yt = d.log ? (function () { var o = []; for (var e = Math.log10(y0); e <= Math.log10(y1) + 1e-9; e++) o.push(Math.pow(10, e)); return o; })()
                   : ticks(y0, y1, 5);
    yt.forEach(function (v) {
      el("line", {x1: L, x2: W - R, y1: py(v), y2: py(v)}, g);
      el("text", {x: L - 6, y: py(v) + 4, "text-anchor": "end", fill: "#444", stroke: "none"}, svg).textContent = fmt(v);
    });
    ticks(x0, x1, 6).forEach(function (v) {
      el("line", {x1: px(v), x2: px(v), y1: T, y2: H - B}, g);
      el("text", {x: px(v), y: H - B + 15, "text-anchor": "middle", fill: "#444"}, svg).textContent = fmt(v);
    });
    el("text", {x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#222"}, svg).textContent = d.xlabel;
    el("text", {x: 14, y: (T + H - B) / 2, "text-anchor": "middle", fill: "#222",
                transform: "rotate(-90 14 " + (T + H - B) / 2 + ")"}, svg).textContent = d.ylabel;
    function points(c) { return xs.map(function (x, i) { return px(x).toFixed(2) + "," + py(c[i]).toFixed(2); }).join(" "); }
    Object.keys(d.fixed).forEach(function (k) {
      var p = el("polyline", {points: points(d.fixed[k]), fill: "none", stroke: "#999", "stroke-width": 1,
                              "stroke-dasharray": "4 3", "class": "lrlib-fixed"}, svg);
      el("title", {}, p).textContent = k;
    });
    var line = el("polyline", {fill: "none", stroke: "#1f77b4", "stroke-width": 2, "class": "lrlib-curve"}, svg);
    var guide = el("line", {y1: T, y2: H - B, stroke: "#888", "stroke-dasharray": "3 3", visibility: "hidden"}, svg);
    var dot = el("circle", {r: 4, fill: "#d62728", visibility: "hidden"}, svg);
    var readout = el("text", {x: W - R, y: 16, "text-anchor": "end", fill: "#222", "class": "lrlib-readout"}, svg);
    var row = document.createElement("label");
    row.style.display = "flex"; row.style.alignItems = "center"; row.style.gap = "0.6em";
    var name = document.createElement("code"); name.textContent = d.param;
    var slider = document.createElement("input");
    slider.type = "range"; slider.min = 0; slider.max = d.values.length - 1; slider.step = 1;
    slider.value = d.initial; slider.className = "lrlib-slider"; slider.style.flex = "1";
    slider.setAttribute("aria-label", d.param);
    var shown = document.createElement("output"); shown.className = "lrlib-value";
    row.appendChild(name); row.appendChild(slider); row.appendChild(shown);
    root.appendChild(row);
    var k = d.initial, hover = -1;
    function say(i) {
      var e = d.steps_per_epoch ? " (epoch " + (xs[i] / d.steps_per_epoch).toFixed(2) + ")" : "";
      readout.textContent = d.x + " " + xs[i] + e + ": " + (d.base_lr !== 1 ? "LR " : "factor ") + fmt(d.curves[k][i]);
    }
    function draw() {
      line.setAttribute("points", points(d.curves[k]));
      root.dataset.index = k;
      shown.textContent = "= " + d.values[k];
      if (hover >= 0) { dot.setAttribute("cy", py(d.curves[k][hover])); say(hover); }
      else readout.textContent = d.param + " = " + d.values[k] + " (hover to read the LR)";
    }
    slider.addEventListener("input", function () { k = +slider.value; draw(); });
    svg.addEventListener("pointermove", function (ev) {
      var r = svg.getBoundingClientRect(), x = (ev.clientX - r.left) / r.width * W;
      var s = x0 + (x - L) / (W - L - R) * (x1 - x0), lo = 0, hi = xs.length - 1;
      while (hi - lo > 1) { var m = (lo + hi) >> 1; if (xs[m] <= s) lo = m; else hi = m; }
      hover = Math.abs(xs[hi] - s) < Math.abs(xs[lo] - s) ? hi : lo;
      guide.setAttribute("x1", px(xs[hover])); guide.setAttribute("x2", px(xs[hover]));
      dot.setAttribute("cx", px(xs[hover]));
      guide.setAttribute("visibility", "visible"); dot.setAttribute("visibility", "visible");
      draw();
    });
    svg.addEventListener("pointerleave", function () {
      hover = -1; guide.setAttribute("visibility", "hidden"); dot.setAttribute("visibility", "hidden"); draw();
    });
    draw();
    root.dataset.ready = "1";
  }
  window.lrlibExplorer = {init: init};
})();
"""
