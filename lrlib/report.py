"""Words for numbers: the phrases the book's chapters glue into their prose.

A chapter writes its own sentences; these helpers supply the parts that depend on the result, so a
sentence stays true whatever a rebuild measures: a paired difference with its interval and its
direction (number first), a ratio of losses, a sign-aware tally, a plural. They work on anything
with ``mean``, ``lo``, ``hi``, ``ci`` and ``n`` (:class:`lrlib.train.Stats` and
:class:`lrlib.train.Ratio`). Only the standard library is imported.

>>> from lrlib.train import stats
>>> difference(stats([0.004, 0.006, 0.005, 0.009]), more="higher", less="lower")
'0.6 points higher (95% CI 0.3 to 0.9)'
>>> difference(stats([0.004, -0.006, 0.001]))
'no different (+0.0 points, 95% CI -1.3 to +1.2)'
>>> plural(1, "epoch"), plural(3, "seed")
('1 epoch', '3 seeds')
"""
from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["difference", "ratio", "tally", "listing", "flags", "plural", "signed", "family_confidence", "interval_label",
           "versus", "failed", "edge_failures"]


def _num(x: float, digits: int, sign: bool = False) -> str:
    """``x`` rounded to ``digits``, with no ``-0.0``; a leading ``+`` on non-negative values if ``sign``."""
    r = round(x, digits)
    if r == 0:
        r = 0.0
    return f"{r:+.{digits}f}" if sign else f"{r:.{digits}f}"


def signed(x: float, digits: int = 1) -> str:
    """``x`` with an explicit sign and no negative zero: ``signed(-0.0001, 2) == '+0.00'``."""
    return _num(x, digits, sign=True)


def listing(items: Iterable[str], none: str = "none") -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``; ``none`` for an empty list."""
    xs = list(items)
    if not xs:
        return none
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


def flags(df: Any, by: Iterable[str] = ("name", "lr")) -> str:
    """A sentence on the runs of a :func:`lrlib.runner.run` DataFrame that diverged or stalled:
    ``'In the sweep, 1 of the 3 "constant" runs at 0.2 stalled.'``, or ``'No run diverged or
    stalled.'``."""
    parts = []
    for key, g in df.groupby(list(by), sort=False):
        name, lr = key if isinstance(key, tuple) else (key, None)
        for flag in ("diverged", "stalled"):
            k = int(g[flag].sum())
            if k:
                where = f" at {lr:g}" if lr is not None else ""
                parts.append(f"{k} of the {len(g)} \u201c{name}\u201d runs{where} {flag}")
    if not parts:
        return "No run diverged or stalled."
    return "In the sweep, " + listing(parts) + "."


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 epoch"``, ``"2 epochs"`` (``words`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def interval_label(confidence: float = 0.95) -> str:
    """``"95% CI"``: how an interval is labelled wherever the book shows one."""
    pct = 100 * confidence
    return f"{pct:.0f}% CI" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}% CI"


def family_confidence(comparisons: int, alpha: float = 0.05) -> float:
    """The per-comparison confidence that keeps ``comparisons`` intervals jointly at ``1 - alpha``
    (Bonferroni): a chapter that compares five schedules with a baseline uses 99% intervals, so
    the chance that any of the five claims is a fluke stays under 5%."""
    if comparisons < 1:
        raise ValueError(f"comparisons must be >= 1, got {comparisons!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return 1.0 - alpha / comparisons


def _significant(d: Any, null: float) -> int:
    """+1 if the interval lies above ``null``, -1 if below, 0 if it contains it."""
    if d.lo > null:
        return 1
    if d.hi < null:
        return -1
    return 0


def difference(d: Any, *, scale: float = 100.0, digits: int = 1, unit: str = "points",
               more: str = "higher", less: str = "lower", same: str = "no different",
               confidence: float = 0.95) -> str:
    """A paired difference, number first: ``"0.6 points higher (95% CI 0.3 to 0.8)"``,
    ``"0.4 points lower (95% CI 0.1 to 0.7)"``, or ``"no different (+0.0 points, 95% CI -1.2 to
    +1.2)"`` when the interval contains zero. ``scale`` turns fractions into points; a difference
    of losses takes ``scale=1, unit=""``.

    Args:
        d: a :class:`~lrlib.train.Stats` of paired differences.
        scale, digits, unit: how the numbers are shown.
        more, less, same: the words for a difference above, below, or indistinguishable from zero.
        confidence: the interval's level, for its label.
    """
    unit_s = f" {unit}" if unit else ""
    if not math.isfinite(d.mean):
        return "not comparable (a run diverged)"
    if d.n < 2 or not math.isfinite(d.ci):
        return f"{_num(d.mean * scale, digits, True)}{unit_s} (one seed, no interval)"
    label = interval_label(confidence)
    side = _significant(d, 0.0)
    if side > 0:
        return (f"{_num(d.mean * scale, digits)}{unit_s} {more} "
                f"({label} {_num(d.lo * scale, digits)} to {_num(d.hi * scale, digits)})")
    if side < 0:
        return (f"{_num(-d.mean * scale, digits)}{unit_s} {less} "
                f"({label} {_num(-d.hi * scale, digits)} to {_num(-d.lo * scale, digits)})")
    return (f"{same} ({_num(d.mean * scale, digits, True)}{unit_s}, {label} "
            f"{_num(d.lo * scale, digits, True)} to {_num(d.hi * scale, digits, True)})")


def ratio(r: Any, *, what: str = "", digits: int = 2, same: str = "no different",
          confidence: float = 0.95) -> str:
    """A paired ratio ``a / b`` (e.g. of final training losses), number first:
    ``"2.10 times lower (95% CI 1.70 to 2.60)"`` for a ratio of 0.48, ``"1.30 times higher
    (...)"``, or ``"no different (×0.97, 95% CI 0.85 to 1.10)"``. ``what`` names the quantity
    (``"training loss"``) after the direction word.

    Args:
        r: a :class:`~lrlib.train.Ratio`.
    """
    what_s = f" {what}" if what else ""
    if not (math.isfinite(r.mean) and r.mean > 0):
        return "not comparable (a run diverged)"
    if r.n < 2 or not math.isfinite(r.ci):
        return f"×{_num(r.mean, digits)}{what_s} (one seed, no interval)"
    label = interval_label(confidence)
    side = _significant(r, 1.0)
    if side < 0:
        return (f"{_num(1 / r.mean, digits)} times lower{what_s} "
                f"({label} {_num(1 / r.hi, digits)} to {_num(1 / r.lo, digits)})")
    if side > 0:
        return (f"{_num(r.mean, digits)} times higher{what_s} "
                f"({label} {_num(r.lo, digits)} to {_num(r.hi, digits)})")
    return f"{same}{what_s} (×{_num(r.mean, digits)}, {label} {_num(r.lo, digits)} to {_num(r.hi, digits)})"


def tally(results: Iterable[Any], *, higher_is_better: bool = True, null: float | None = None,
          noun: str = "schedule", nouns: str | None = None,
          words: tuple[str, str] = ("better", "worse")) -> str:
    """Count paired comparisons by outcome, sign-aware: ``"2 schedules better, 1 worse, 3 within
    noise"`` (only the non-empty parts, in that order; ``"none"`` for no results).

    Args:
        results: :class:`~lrlib.train.Stats` (null 0) or :class:`~lrlib.train.Ratio` (null 1).
        higher_is_better: whether a positive difference (a ratio above 1) is an improvement.
        null: override the no-difference value.
        words: the words for an improvement and the opposite; ``("lower", "higher")`` with
            ``higher_is_better=False`` counts a loss without calling the lower one better (on
            noisy labels it need not be).
    """
    better = worse = same = 0
    for d in results:
        z = getattr(d, "null", 0.0) if null is None else null
        side = _significant(d, z) if math.isfinite(d.ci) else 0
        if side == 0:
            same += 1
        elif (side > 0) == higher_is_better:
            better += 1
        else:
            worse += 1
    total = better + worse + same
    if total == 0:
        return "none"
    parts = []
    first = True
    for n, word in ((better, words[0]), (worse, words[1]), (same, "within noise")):
        if n:
            parts.append(f"{plural(n, noun, nouns) if first else n} {word}")
            first = False
    return ", ".join(parts)


def versus(study: Any, a: str, b: str | None = None, *, confidence: float | None = None,
           what: str = "") -> tuple[str, str]:
    """The two phrases a chapter quotes for recipe ``a`` of a :class:`~lrlib.study.Tuned` study
    against ``b`` (default: the study's baseline): the paired accuracy difference
    (:func:`difference`) and the ratio of final-weight training losses (:func:`ratio`), at the
    study's interval level unless ``confidence`` is given; ``what`` is passed to :func:`ratio`."""
    c = study.confidence if confidence is None else confidence
    return (difference(study.diff(a, b), confidence=c),
            ratio(study.ratio(a, b), what=what, confidence=c))


def failed(sweep: Any) -> str:
    """The sweep runs that diverged or stalled, grouped by LR and by count:
    ``"At 0.2, some sweep runs stalled: 1 of 3 for a and b; 2 of 3 for c."`` (one sentence per LR),
    or ``"No sweep run diverged or stalled."``. ``sweep`` is a :func:`lrlib.runner.run` frame."""
    out = []
    for lr, g in sweep.groupby("lr"):
        bad = g["diverged"] | g["stalled"]
        if not bad.any():
            continue
        what = ("stalled" if not g["diverged"].any() else "diverged" if not g["stalled"].any()
                else "diverged or stalled")
        counts: dict[str, list[str]] = {}
        for name, h in g[bad].groupby("name", sort=False):
            counts.setdefault(f"{len(h)} of {int((g['name'] == name).sum())}", []).append(name)
        out.append(f"At {lr:g}, some sweep runs {what}: "
                   + "; ".join(f"{k} for {listing(v)}" for k, v in counts.items()) + ".")
    return " ".join(out) or "No sweep run diverged or stalled."


def edge_failures(sweep: Any, grid: Any) -> str:
    """One sentence for the common case where runs failed at a single LR of the sweep:
    ``"At 0.2, the top of the grid, 6 of the 15 sweep runs stalled; only “a” had none."`` (recipes
    that lost every run there are named too); with failures at several LRs, :func:`flags`."""
    bad = sweep[sweep["diverged"] | sweep["stalled"]]
    lrs = sorted(bad["lr"].unique())
    if len(lrs) != 1:
        return flags(sweep)
    at = sweep[sweep["lr"] == lrs[0]]
    how = " or ".join(k for k in ("stalled", "diverged") if bad[k].any())
    hit = bad.groupby("name").size()
    size = at.groupby("name").size()
    spared = [f"\u201c{n}\u201d" for n in size.index if n not in hit]
    lost = [f"\u201c{n}\u201d" for n in hit.index if hit[n] == size[n]]
    top = ", the top of the grid," if lrs[0] == max(grid) else ""
    s = f"At {lrs[0]:g}{top} {len(bad)} of the {len(at)} sweep runs {how}"
    s += f"; only {listing(spared)} had none" if spared else ", at least one for every recipe"
    if lost:
        s += f", and all {size.max()} for {listing(lost)}"
    return s + "."
