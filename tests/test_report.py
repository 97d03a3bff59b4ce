"""The phrases chapters glue: number first, direction folded in, intervals labelled, no '-0.0',
no '1 epochs', tallies that know better from worse."""
from __future__ import annotations

import math

import pytest

from lrlib import report
from lrlib.train import Ratio, ratio_stats, stats


def _ratio(values):
    logs = [math.log(v) for v in values]
    s = stats(logs)
    return Ratio(math.exp(s.mean), s.ci, s.n, tuple(values))


@pytest.mark.parametrize("values, want", [
    ([0.010, 0.012, 0.011], "1.1 points higher (95% CI 0.9 to 1.3)"),
    ([-0.010, -0.012, -0.011], "1.1 points lower (95% CI 0.9 to 1.3)"),
    ([0.010, -0.012, 0.001], "no different (-0.0 points"),
])
def test_difference_puts_the_number_first_and_folds_in_the_direction(values, want):
    got = report.difference(stats(values))
    if want.startswith("no different"):
        assert got.startswith("no different (") and "95% CI -" in got and "-0.0" not in got
    else:
        assert got == want


def test_difference_of_losses_and_custom_words():
    d = stats([-0.02, -0.03, -0.025])
    assert report.difference(d, scale=1, digits=3, unit="", more="worse", less="better") == \
        "0.025 better (95% CI 0.013 to 0.037)"


def test_difference_without_an_interval_or_with_a_diverged_run():
    assert report.difference(stats([0.01])) == "+1.0 points (one seed, no interval)"
    assert report.difference(stats([math.inf, 0.0])).startswith("not comparable")


def test_ratio_reads_as_times_lower_or_higher():
    assert report.ratio(_ratio([0.5, 0.45, 0.55]), what="training loss").startswith("2.01 times lower training loss (95% CI")
    assert report.ratio(_ratio([1.5, 1.4, 1.6])).startswith("1.50 times higher (95% CI")
    assert report.ratio(_ratio([0.9, 1.1, 1.0])).startswith("no different (×")


def test_no_negative_zero_anywhere():
    assert report.signed(-0.0001, 2) == "+0.00"
    assert "-0.0" not in report.difference(stats([-0.0001, 0.0001, -0.00005]))


def test_tally_is_sign_aware():
    up, down, flat = stats([0.01, 0.012, 0.011]), stats([-0.01, -0.012, -0.011]), stats([0.01, -0.01, 0.0])
    assert report.tally([up, down, flat, flat]) == "1 schedule better, 1 worse, 2 within noise"
    assert report.tally([up, up], higher_is_better=False) == "2 schedules worse"
    assert report.tally([_ratio([0.5, 0.45, 0.55])], higher_is_better=False) == "1 schedule better"
    assert report.tally([]) == "none"
    lower = _ratio([0.5, 0.45, 0.55])
    assert (report.tally([lower, _ratio([2.0, 2.2, 1.9])], higher_is_better=False, words=("lower", "higher"))
            == "1 schedule lower, 1 higher")


def test_plural_and_labels():
    assert report.plural(1, "epoch") == "1 epoch" and report.plural(2, "epoch") == "2 epochs"
    assert report.plural(3, "update") == "3 updates"
    assert report.interval_label(0.95) == "95% CI" and report.interval_label(0.99) == "99% CI"
    assert report.family_confidence(5) == pytest.approx(0.99)
    with pytest.raises(ValueError, match="comparisons"):
        report.family_confidence(0)


def test_listing_reads_as_english():
    assert report.listing([]) == "none" and report.listing([], none="no schedule") == "no schedule"
    assert report.listing(["a"]) == "a" and report.listing(["a", "b"]) == "a and b"
    assert report.listing(["a", "b", "c"]) == "a, b and c"


def test_flags_names_the_runs_that_went_wrong():
    import pandas as pd

    df = pd.DataFrame({"name": ["c", "c", "c", "d"], "lr": [0.2, 0.2, 0.2, 0.2],
                       "diverged": [False, False, False, False], "stalled": [True, False, False, False]})
    assert report.flags(df) == "In the sweep, 1 of the 3 \u201cc\u201d runs at 0.2 stalled."
    assert report.flags(df.assign(stalled=False)) == "No run diverged or stalled."


def test_versus_quotes_a_study_at_its_own_interval_level():
    class Study:  # the two methods and the level report.versus reads from a lrlib.study.Tuned
        confidence = 0.99

        def diff(self, a, b=None):
            assert (a, b) == ("cosine", None)
            return stats([0.004, 0.006, 0.005, 0.005], confidence=self.confidence)

        def ratio(self, a, b=None):
            return ratio_stats([0.5, 0.45, 0.55, 0.5], [1.0, 1.0, 1.0, 1.0], confidence=self.confidence)

    acc, loss = report.versus(Study(), "cosine", what="training loss")
    assert acc.startswith("0.5 points higher") and "99% CI" in acc
    assert loss.startswith("2.01 times lower training loss (99% CI")  # geometric mean
    acc95, _ = report.versus(Study(), "cosine", confidence=0.95)
    assert "95% CI" in acc95


def _sweep(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["name", "lr", "seed", "diverged", "stalled"])


def test_failed_groups_sweep_failures_by_lr_and_count():
    rows = [(n, lr, s, False, n == "c" and lr == 0.2 or (n in "ab" and lr == 0.2 and s == 0))
            for n in "abc" for lr in (0.1, 0.2) for s in range(3)]
    assert report.failed(_sweep(rows)) == "At 0.2, some sweep runs stalled: 1 of 3 for a and b; 3 of 3 for c."
    clean = [(n, lr, s, False, False) for n, lr, s, *_ in rows]
    assert report.failed(_sweep(clean)) == "No sweep run diverged or stalled."


def test_edge_failures_names_the_spared_and_the_lost():
    rows = [(n, lr, s, n == "b" and lr == 0.2, n == "c" and lr == 0.2 and s < 2)
            for n in "abc" for lr in (0.1, 0.2) for s in range(2)]
    text = report.edge_failures(_sweep(rows), [0.1, 0.2])
    assert text == ("At 0.2, the top of the grid, 4 of the 6 sweep runs stalled or diverged; "
                    "only \u201ca\u201d had none, and all 2 for \u201cb\u201d and \u201cc\u201d.")
