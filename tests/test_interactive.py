"""lrlib.interactive: the data an interactive figure carries is lrlib's, and bad input is refused.
(The figures themselves are exercised in a real browser by tests/test_book.py.)"""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, strategies as st

import lrlib
from lrlib import interactive


@given(st.integers(1, 5000), st.integers(2, 700))
def test_sampled_steps_span_the_run_in_order(steps, points):
    ts = interactive.sample_steps(steps, points)
    assert ts[0] == 0 and ts[-1] == steps - 1
    assert ts == sorted(set(ts)) and len(ts) <= max(points, 1)
    assert len(ts) == min(steps, points) or steps > points


def test_figure_data_is_lrlib_evaluated_at_the_sampled_steps():
    fig = interactive.explore(lambda m: lrlib.Cosine(1000, end=m), [0.0, 0.1, 0.3], param="end",
                              steps=1200, base_lr=0.1, initial=0.1, points=300)
    d = fig.data
    assert d["values"] == ["0", "0.1", "0.3"] and d["initial"] == 1 and len(d["steps"]) == 300
    for cfg, curve in zip(d["configs"], d["curves"]):
        s = lrlib.from_config(cfg)
        assert curve == [0.1 * s(t) for t in d["steps"]]
    assert d["curves"][2][-1] == pytest.approx(0.03)  # past total_steps lrlib holds the floor
    html = fig._repr_html_()
    payload = re.search(r'<script type="application/json" class="lrlib-explorer-data">(.*?)</script>', html, re.S)
    assert json.loads(payload.group(1)) == json.loads(json.dumps(d))
    assert html.count("window.lrlibExplorer.init") == 1 and fig.id in html
    # the same figure gets the same id (reproducible builds); another figure another
    assert interactive.explore(lambda m: lrlib.Cosine(1000, end=m), [0.0, 0.1, 0.3], param="end", steps=1200,
                               base_lr=0.1, initial=0.1, points=300).id == fig.id
    assert interactive.explore(lambda m: lrlib.Cosine(999, end=m), [0.0, 0.1], param="end", steps=10).id != fig.id


def test_a_closing_script_tag_in_a_title_cannot_break_out_of_the_data():
    fig = interactive.explore(lambda g: lrlib.StepDecay(10, g), [0.1, 0.5], param="gamma", steps=50,
                              title="</script><b>x</b>")
    html = fig._repr_html_()
    assert html.count("</script>") == 2  # the data block's and the code's own


@pytest.mark.parametrize("kwargs, name", [
    ({"values": [0.1]}, "values"),
    ({"param": ""}, "param"),
    ({"initial": 0.7}, "initial"),
    ({"base_lr": 0.0}, "base_lr"),
    ({"steps": 0}, "steps"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"log": True, "values": [0.0, 0.1], "steps": 150}, "log"),
])
def test_bad_arguments_are_named(kwargs, name):
    args = {"values": [0.1, 0.5], "param": "gamma", "steps": 100}
    args.update(kwargs)
    make = (lambda m: lrlib.Cosine(100, end=m)) if name == "log" else (lambda g: lrlib.StepDecay(10, g))
    with pytest.raises(ValueError, match=name):
        interactive.explore(make, **args)


def test_make_must_return_a_schedule():
    with pytest.raises(ValueError, match="make"):
        interactive.explore(lambda g: g, [0.1, 0.5], param="gamma", steps=10)
