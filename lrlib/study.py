"""A fair comparison of schedules, in one call: every schedule at its own best peak LR.

:func:`tune` runs the experiment design every training chapter of the book uses:

1. **Sweep.** Every recipe (the constant baseline included) trains at every peak LR of the budget's
   grid, on the budget's *sweep seeds*.
2. **Select.** Each recipe keeps the LR with the best mean of ``select`` (by default the final
   validation loss) over those seeds.
3. **Judge.** Each recipe trains again at its chosen LR on the budget's *evaluation seeds*, which
   the selection never saw; differences are paired by seed (same initial weights, same batches)
   and the intervals are widened for the number of comparisons made against the baseline
   (Bonferroni), so the chance that any one claim of a chapter is a fluke stays under 5%.

Every run goes through :mod:`lrlib.runner`, so runs shared between chapters (the tuned constant
baseline above all) are trained once and read from the disk cache afterwards.

A recipe is a schedule, a :class:`~lrlib.Plateau`, ``None`` (constant LR), a callable
``recipe(total_steps) -> schedule`` (so the same recipe serves runs of other lengths), or a dict of
:class:`~lrlib.runner.Run` settings with a ``"schedule"`` entry of any of those kinds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import runner
from .report import family_confidence
from .train import Budget, Ratio, Stats, get_budget

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Tuned", "tune", "merge", "resolve", "families", "FAMILIES"]

Recipe = Any


def families() -> dict[str, Recipe]:
    """One canonical recipe per schedule family, each a function of the run's horizon ``T``.

    Chapters that study a family use these exact recipes for their headline comparison, so the
    comparison chapter, the family's own chapter and the tuned constant baseline share their runs
    through the cache (a run asked for twice is trained once).
    """
    from . import compose, schedules
    from .plateau import Plateau

    return {
        "constant": None,
        "step decay": lambda T: schedules.MultiStep((T // 2, (3 * T) // 4), 0.1),
        "exponential": lambda T: schedules.Exponential.to_final(0.01, T),
        "cosine": lambda T: schedules.Cosine(T),
        "linear to zero": lambda T: schedules.Linear(1.0, 0.0, T),
        "polynomial (power 2)": lambda T: schedules.Polynomial(T, power=2.0),
        "one-cycle": {"schedule": lambda T: schedules.OneCycle(T),
                      "momentum_schedule": lambda T: schedules.OneCycle(T).momentum(0.85, 0.95)},
        "triangular cyclical": lambda T: schedules.Cyclic(0.1, step_size_up=max(1, T // 4)),
        "cosine restarts": lambda T: schedules.CosineRestarts(T / 3),
        "warmup-stable-decay": lambda T: compose.WSD(T, cooldown_steps=max(1, T // 5), shape="1-sqrt"),
        "inverse square root": lambda T: schedules.InverseSqrt(warmup_steps=max(1, T // 20),
                                                             timescale=max(1, T // 20)),
        "reduce on plateau": Plateau(gamma=0.1, patience=0),
    }


FAMILIES = tuple(families())
"""The names of :func:`families`, in the order the comparison chapter shows them."""


def resolve(recipe: Recipe, total_steps: int) -> Any:
    """The recipe as :func:`lrlib.runner.grid` takes it, for runs of ``total_steps`` updates."""
    if isinstance(recipe, Mapping):
        out = dict(recipe)
        for key in ("schedule", "momentum_schedule", "warmup"):
            if key in out:
                out[key] = resolve(out[key], total_steps)
        return out
    if callable(recipe) and not hasattr(recipe, "to_config"):
        return recipe(total_steps)
    return recipe


@dataclass
class Tuned:
    """The result of :func:`tune`.

    Attributes:
        sweep: one row per sweep run (every recipe, LR and sweep seed).
        best: ``{name: chosen peak LR}``.
        final: one row per evaluation run (every recipe at its chosen LR, every evaluation seed).
        baseline: the recipe the others are compared with.
        confidence: the per-comparison interval level (Bonferroni over the comparisons made).
        select: the metric that chose the LRs.
    """

    sweep: "pd.DataFrame"
    best: dict[str, float]
    final: "pd.DataFrame"
    baseline: str | None
    confidence: float
    select: str
    budget: Budget
    comparisons: int = field(default=0)

    @property
    def names(self) -> list[str]:
        """The recipes, in the order given."""
        return list(self.best)

    def diff(self, a: str, b: str | None = None, metric: str = "val_acc") -> Stats:
        """Paired difference ``metric(a) - metric(b)`` on the evaluation seeds (b: the baseline)."""
        return runner.paired(self.final, a, self._other(b), metric, confidence=self.confidence)

    def ratio(self, a: str, b: str | None = None, metric: str = "train_loss") -> Ratio:
        """Paired ratio ``metric(a) / metric(b)`` (a loss) on the evaluation seeds."""
        return runner.ratio(self.final, a, self._other(b), metric, confidence=self.confidence)

    def stats(self, name: str, metric: str = "val_acc") -> Stats:
        """Mean and interval of ``metric`` for one recipe at its chosen LR (95%)."""
        from .train import stats

        return stats(self.final.loc[self.final["name"] == name, metric])

    def _other(self, b: str | None) -> str:
        other = self.baseline if b is None else b
        if other is None:
            raise ValueError("b must be given when the study has no baseline")
        return other

    def sensitivity(self, metric: str = "val_acc") -> "pd.DataFrame":
        """Mean ``metric`` over the sweep seeds: one row per recipe, one column per peak LR."""
        return runner.summary(self.sweep, metric, by=["name", "lr"])["mean"].unstack("lr").loc[self.names]

    def table(self) -> "pd.DataFrame":
        """The results table a chapter shows: chosen LR, accuracy and final-weight training loss
        (mean ± interval over the evaluation seeds), and against the baseline the paired accuracy
        difference and training-loss ratio; the interval level is in the column names."""
        import pandas as pd

        from .report import interval_label

        label = interval_label(self.confidence)
        comp = runner.comparison(self.final, baseline=self.baseline, confidence=self.confidence, formatted=True)
        out = pd.DataFrame(index=comp.index)
        out["peak LR"] = [f"{self.best[n]:g}" for n in comp.index]
        out[f"val. accuracy, % (mean ± {label})"] = comp["val. accuracy (%)"]
        out[f"train loss, final weights (mean ± {label})"] = comp["train loss (final weights)"]
        if self.baseline is not None:
            out[f"Δ acc. vs {self.baseline}, points [{label}]"] = comp[f"Δ acc. vs {self.baseline} (points)"]
            out[f"train-loss ratio vs {self.baseline} [{label}]"] = comp[f"train loss ratio vs {self.baseline}"]
        flagged = [int(d.split("/")[0]) + int(s.split("/")[0]) for d, s in zip(comp["diverged"], comp["stalled"])]
        out["diverged or stalled"] = [f"{f}/{len(self.budget.seeds)}" for f in flagged]
        out.index.name = "schedule"
        return out

    def widths(self, metric: str = "val_acc") -> dict[str, float]:
        """Half-width of each recipe's interval on ``metric`` (95%): the resolution the seeds reach."""
        return {n: self.stats(n, metric).ci for n in self.names}


def tune(recipes: Mapping[str, Recipe], *, budget: Budget | str | None = None, baseline: str | None = "constant",
         lrs: Sequence[float] | None = None, sweep_seeds: Sequence[int] | None = None,
         seeds: Sequence[int] | None = None, select: str = "val_loss", comparisons: int | None = None,
         epochs: int | None = None, executor: Any = None, **common: Any) -> Tuned:
    """Sweep, select and judge: each recipe at its own best peak LR, against a tuned baseline.

    Args:
        recipes: ``{name: recipe}`` (see the module docstring); include the baseline.
        budget: a :class:`~lrlib.train.Budget` or its name (default: this machine's).
        baseline: the recipe the others are compared with (``None``: no baseline).
        lrs: the peak-LR grid (default: the budget's ``lrs``). A dict recipe may carry its own
            grid as ``"lrs"`` (another optimizer's range, say), which it is swept over instead.
        sweep_seeds: the seeds that choose the LRs (default: the budget's ``sweep_seeds``).
        seeds: the seeds that judge (default: the budget's ``seeds``).
        select: the metric whose mean over the sweep seeds picks each LR (lower is better for
            losses, higher for accuracies); diverged runs count as infinite loss.
        comparisons: how many comparisons the chapter makes with these runs (default: one per
            recipe other than the baseline); the intervals are Bonferroni-widened for them.
        epochs: run length (default: the budget's); callable recipes get the matching horizon.
        executor: any :class:`concurrent.futures.Executor` (default: in this process).
        common: other :class:`~lrlib.runner.Run` settings for every run (``optimizer="adam"``...).
    """
    b = budget if isinstance(budget, Budget) else get_budget(budget)
    if not isinstance(recipes, Mapping) or not recipes:
        raise ValueError(f"recipes must be a non-empty mapping of name to recipe, got {recipes!r:.200}")
    if baseline is not None and baseline not in recipes:
        raise ValueError(f"baseline must be one of the recipes {list(recipes)}, got {baseline!r}")
    n_comp = (len(recipes) - (baseline is not None)) if comparisons is None else comparisons
    confidence = family_confidence(max(1, n_comp))
    total = b.steps_per_epoch * (b.epochs if epochs is None else epochs)
    resolved = {name: resolve(r, total) for name, r in recipes.items()}
    if epochs is not None:
        common["epochs"] = epochs
    grid_lrs = list(b.lrs if lrs is None else lrs)
    grids: dict[str, list[float]] = {}
    for name, r in list(resolved.items()):
        if isinstance(r, Mapping) and "lrs" in r:
            own = r["lrs"]
            if isinstance(own, (str, bytes)) or not hasattr(own, "__iter__") or not list(own):
                raise ValueError(f"recipes[{name!r}]['lrs'] must be a non-empty sequence of peak LRs, got {own!r}")
            grids[name] = list(own)
            resolved[name] = {k: v for k, v in r.items() if k != "lrs"}
    sweep_runs = []
    for name, r in resolved.items():
        sweep_runs += runner.grid({name: r}, lrs=grids.get(name, grid_lrs),
                                  seeds=b.sweep_seeds if sweep_seeds is None else sweep_seeds, budget=b, **common)
    sweep = runner.run(sweep_runs, executor=executor)
    chosen = runner.best_lr(sweep, select)
    best = {name: float(chosen.loc[chosen["name"] == name, "lr"].iloc[0]) for name in resolved}
    judged = []
    for name, recipe in resolved.items():
        if isinstance(recipe, Mapping) and "lr" in recipe:
            judged.append({name: recipe})
        else:
            judged.append({name: {**(recipe if isinstance(recipe, Mapping) else {"schedule": recipe}),
                                  "lr": best[name]}})
    runs = [r for item in judged
            for r in runner.grid(item, seeds=b.seeds if seeds is None else seeds, budget=b, **common)]
    final = runner.run(runs, executor=executor)
    return Tuned(sweep=sweep, best=best, final=final, baseline=baseline, confidence=confidence,
                 select=select, budget=b, comparisons=n_comp)



def merge(*parts: Tuned, baseline: str | None = None, comparisons: int | None = None) -> Tuned:
    """One study from several :func:`tune` results (other run lengths' or optimizers' studies,
    say), so a chapter gets one table and one Bonferroni level over all its comparisons.

    Args:
        parts: studies of the same budget and selection metric, with distinct recipe names.
        baseline: the recipe the others are compared with (default: the first part's).
        comparisons: how many comparisons the chapter makes across the merged studies (default:
            one per recipe other than the baseline).
    """
    import pandas as pd

    if not parts or not all(isinstance(p, Tuned) for p in parts):
        raise ValueError("parts must be one or more Tuned studies")
    first = parts[0]
    for p in parts[1:]:
        if p.budget != first.budget or p.select != first.select:
            raise ValueError("parts must share their budget and selection metric")
    names = [n for p in parts for n in p.names]
    if len(set(names)) != len(names):
        raise ValueError(f"parts must have distinct recipe names, got {names}")
    base = first.baseline if baseline is None else baseline
    if base is not None and base not in names:
        raise ValueError(f"baseline must be one of the recipes {names}, got {base!r}")
    n_comp = (len(names) - (base is not None)) if comparisons is None else comparisons
    return Tuned(sweep=pd.concat([p.sweep for p in parts], ignore_index=True),
                 best={n: v for p in parts for n, v in p.best.items()},
                 final=pd.concat([p.final for p in parts], ignore_index=True), baseline=base,
                 confidence=family_confidence(max(1, n_comp)), select=first.select, budget=first.budget,
                 comparisons=n_comp)
