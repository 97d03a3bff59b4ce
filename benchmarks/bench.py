"""Speed of lrlib's scheduler step against PyTorch's own schedulers, run side by side.

Prints, for each pair, microseconds per `scheduler.step()` and the ratio lrlib / torch, and for
scale the cost of one optimizer step on a tiny model.
Rounds alternate between the two sides so machine noise hits both alike; the median of the rounds
is reported. A ratio below 1 means lrlib is faster.

    python benchmarks/bench.py [--steps 2000] [--rounds 7]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.optim import lr_scheduler as tls

import lrlib


def _opt(kind: str = "sgd", groups: int = 1) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(8))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.1, momentum=0.9) if kind == "sgd" else torch.optim.Adam(params, lr=0.1)


def _time_sched(make, steps: int, groups: int = 1, metric: bool = False) -> float:
    opt = _opt(groups=groups)
    sched = make(opt)
    opt.step()  # the usual order: optimizer first (PyTorch warns otherwise); timing covers sched.step() only
    start = time.perf_counter()
    if metric:
        for i in range(steps):
            sched.step(1.0 / (1 + i % 7))
    else:
        for _ in range(steps):
            sched.step()
    return (time.perf_counter() - start) / steps * 1e6


def _time_opt_only(steps: int) -> float:
    opt = _opt()
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps * 1e6


PAIRS = {
    "StepLR": (lambda o: lrlib.ScheduledLR(o, lrlib.StepDecay(100, 0.5)), lambda o: tls.StepLR(o, 100, 0.5)),
    "CosineAnnealingLR": (lambda o: lrlib.ScheduledLR(o, lrlib.Cosine(10**6)), lambda o: tls.CosineAnnealingLR(o, 10**6)),
    "CyclicLR+momentum": (
        lambda o: lrlib.ScheduledLR(o, lrlib.Cyclic(0.1, 500), momentum=lrlib.Cyclic(0.1, 500).momentum()),
        lambda o: tls.CyclicLR(o, 0.01, 0.1, 500)),
    "OneCycleLR+momentum": (
        lambda o: lrlib.ScheduledLR(o, lrlib.OneCycle(10**6), momentum=lrlib.OneCycle(10**6).momentum()),
        lambda o: tls.OneCycleLR(o, 0.1, total_steps=10**6)),
    "SequentialLR(warmup, cosine)": (
        lambda o: lrlib.ScheduledLR(o, lrlib.Join([lrlib.Linear(0.01, 1, 100), lrlib.Cosine(10**6)], [100])),
        lambda o: tls.SequentialLR(o, [tls.LinearLR(o, 0.01, 1.0, 100), tls.CosineAnnealingLR(o, 10**6)], [100])),
}
# metric-driven: step(metric) every call
METRIC_PAIRS = {
    "ReduceLROnPlateau": (lambda o: lrlib.PlateauLR(o, lrlib.Plateau(gamma=0.5, patience=2)),
                          lambda o: tls.ReduceLROnPlateau(o, factor=0.5, patience=2)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps x {args.rounds} rounds")
    print(f"{'scheduler':32s} {'groups':>6s} {'lrlib us/step':>14s} {'torch us/step':>14s} {'ratio':>7s}")
    worst = 0.0
    for groups in (1, 100):
        steps = args.steps if groups == 1 else max(1, args.steps // 10)
        for metric, pairs in ((False, PAIRS), (True, METRIC_PAIRS)):
            for name, (ours, theirs) in pairs.items():
                a, b = [], []
                for _ in range(args.rounds):
                    a.append(_time_sched(ours, steps, groups, metric))
                    b.append(_time_sched(theirs, steps, groups, metric))
                ma, mb = statistics.median(a), statistics.median(b)
                worst = max(worst, ma / mb)
                print(f"{name:32s} {groups:6d} {ma:14.2f} {mb:14.2f} {ma / mb:7.2f}")
    print(f"worst ratio lrlib / torch: {worst:.2f}")
    s = lrlib.Warmup(lrlib.Cosine(10**6), 100)
    start = time.perf_counter()
    for t in range(args.steps * 10):
        s(t)
    per_call = (time.perf_counter() - start) / (args.steps * 10) * 1e6
    opt_us = statistics.median(_time_opt_only(args.steps) for _ in range(args.rounds))
    print(f"\nevaluating Warmup(Cosine) alone: {per_call:.2f} us per call; "
          f"an SGD step on 8 parameters: {opt_us:.2f} us")


if __name__ == "__main__":
    main()
