"""Does the fast path (bf16 autocast + channels-last) change what the experiments say?

Trains the same grid twice at the cpu budget, once in fp32 and once in bf16, with the same seeds
(same initial weights and batch order), and prints per schedule and precision the final validation
accuracy and full-pass training loss (mean and 95% interval over seeds), then the paired difference
bf16 - fp32 per seed next to the seed-to-seed spread. The fast path is harmless when that difference
is small against the spread and its interval holds zero.

    python benchmarks/precision_check.py [--seeds 5] [--budget cpu]
"""
from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd

import lrlib
from lrlib import runner, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", default="cpu")
    args = ap.parse_args()
    budget = train.get_budget(args.budget)
    recipes: dict[str, Any] = {"constant 0.05": {"schedule": None, "lr": 0.05},
               "cosine 0.1": {"schedule": lrlib.Cosine(budget.total_steps), "lr": 0.1}}
    frames = {}
    for precision in ("fp32", "bf16"):
        runs = runner.grid(recipes, seeds=range(args.seeds), budget=budget, precision=precision, device="cpu")
        start = time.perf_counter()
        frames[precision] = runner.run(runs, progress=False)  # the run cache: a rerun only prints
        print(f"{precision}: {len(runs)} runs, {frames[precision].attrs['trained']} trained now, "
              f"in {time.perf_counter() - start:.1f} s")
    df = pd.concat([frames[p].assign(name=frames[p]["name"] + f" / {p}") for p in ("fp32", "bf16")],
                   ignore_index=True)
    print(f"\nbudget {budget.name}: {budget.n_train} images, {budget.epochs} epochs, seeds 0..{args.seeds - 1}")
    print(runner.comparison(df, formatted=True).to_string())
    print("\npaired by seed, bf16 - fp32 (accuracy in points; loss as a ratio bf16 / fp32):")
    for name in recipes:
        d = runner.paired(df, f"{name} / bf16", f"{name} / fp32", "val_acc")
        q = runner.ratio(df, f"{name} / bf16", f"{name} / fp32", "train_loss")
        spread = runner.summary(df, "val_acc").loc[f"{name} / fp32", "std"]
        print(f"  {name:14s} val. accuracy {d.format(100, 2, signed=True)} points ({train.verdict(d)}); "
              f"seed-to-seed std in fp32 {100 * spread:.2f} points; train loss {q.format(3)} "
              f"({train.verdict(q, higher_is_better=False)})")


if __name__ == "__main__":
    main()
