"""The book's experiment design (lrlib.study.tune): LRs chosen on sweep seeds, judged on other
seeds, every recipe at its own best LR, Bonferroni-widened intervals, runs shared through the cache."""
from __future__ import annotations

import pytest

import lrlib
from lrlib import study


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    import os

    os.environ["LRLIB_CACHE"] = str(tmp_path_factory.mktemp("runs"))
    recipes = {"constant": None, "cosine": lambda total: lrlib.Cosine(total),
               "step": {"schedule": lambda total: lrlib.StepDecay(max(1, total // 2), 0.1)}}
    return study.tune(recipes, budget="smoke")


def test_selection_and_judgement_use_disjoint_seeds(tuned):
    b = tuned.budget
    assert set(tuned.sweep["seed"]) == set(b.sweep_seeds)
    assert set(tuned.final["seed"]) == set(b.seeds)
    assert set(tuned.sweep["lr"]) == set(b.lrs)
    assert len(tuned.sweep) == 3 * len(b.lrs) * len(b.sweep_seeds)


def test_each_recipe_is_judged_at_the_lr_with_the_best_sweep_metric(tuned):
    means = tuned.sweep.groupby(["name", "lr"])["val_loss"].mean()
    for name, lr in tuned.best.items():
        assert lr == means[name].idxmin()
        assert set(tuned.final.loc[tuned.final["name"] == name, "lr"]) == {lr}


def test_callable_recipes_get_the_run_horizon(tuned):
    cos = tuned.final.loc[tuned.final["name"] == "cosine", "schedule"].iloc[0]
    assert f"total_steps={tuned.budget.total_steps}" in cos


def test_intervals_are_widened_for_the_comparisons_made(tuned):
    assert tuned.comparisons == 2 and tuned.confidence == pytest.approx(0.975)
    table = tuned.table()
    assert any("97.5% CI" in c for c in table.columns)
    d = tuned.diff("cosine")
    assert d.n == len(tuned.budget.seeds)


def test_a_second_study_retrains_nothing(tuned):
    again = study.tune({"constant": None, "cosine": lambda total: lrlib.Cosine(total)}, budget="smoke")
    assert again.sweep.attrs["trained"] == 0 and again.final.attrs["trained"] == 0
    assert again.best["cosine"] == tuned.best["cosine"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="baseline"):
        study.tune({"cosine": lrlib.Cosine(10)}, budget="smoke")
    with pytest.raises(ValueError, match="recipes"):
        study.tune({}, budget="smoke")


def test_a_recipe_can_carry_its_own_lr_grid_and_studies_merge(tuned):
    adam = study.tune({"adam": {"schedule": lambda total: lrlib.Cosine(total), "optimizer": "adam",
                                "lrs": [1e-3, 3e-3]}}, budget="smoke", baseline=None)
    assert sorted(adam.sweep["lr"].unique()) == [1e-3, 3e-3] and adam.best["adam"] in (1e-3, 3e-3)
    both = study.merge(tuned, adam, comparisons=3)
    assert both.names == ["constant", "cosine", "step", "adam"] and both.baseline == "constant"
    assert both.confidence == pytest.approx(1 - 0.05 / 3)
    d = both.diff("adam")
    assert d.n == len(both.budget.seeds)
    with pytest.raises(ValueError, match="distinct"):
        study.merge(tuned, tuned)
    with pytest.raises(ValueError, match="baseline"):
        study.merge(adam, baseline="nope")
    with pytest.raises(ValueError, match="lrs"):
        study.tune({"x": {"schedule": None, "lrs": []}}, budget="smoke", baseline=None)
