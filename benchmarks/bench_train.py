"""Speed of the book's training harness, measured side by side in one process.

1. The harness (``lrlib.train.fit``) against a plain PyTorch loop over a ``DataLoader`` on the same
   CNN, both doing the same work: ``--epochs`` epochs of SGD at batch 64 on the cpu budget's 4,000
   MNIST digits, a validation pass after every epoch and a full pass over the training set at the
   end. The harness runs in fp32 and in its fast path (bf16 autocast + channels-last), each with
   the layout it would pick on this machine.
2. Rebuilding a small grid through ``lrlib.runner.run`` with an empty cache and again with the
   filled cache (what a book rebuild after a prose edit does), counting the runs trained each time.
3. One chapter end to end (``--chapter``, default the comparison chapter, at ``--chapter-budget``,
   default ``smoke``): executed in a fresh kernel with an empty run cache, then again with the
   cache it filled, as the book build executes it.

Rounds alternate between the sides, so noise from other processes hits every side alike; the
median of the rounds is reported, and ratios are speedups (above 1: faster than the plain loop).

    python benchmarks/bench_train.py [--epochs 2] [--rounds 3] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import lrlib
from lrlib import runner, train
from lrlib.models import small_cnn


def plain_loop(budget: train.Budget, epochs: int, seed: int) -> float:
    """A textbook loop: DataLoader with shuffling, fp32, contiguous layout. Returns seconds."""
    from torch.utils.data import DataLoader, TensorDataset

    data = train._dataset(budget.dataset, budget.n_train, budget.n_val, "cpu", False, "")
    torch.manual_seed(seed)
    model = small_cnn(budget.width)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loader = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=budget.batch_size, shuffle=True,
                        drop_last=True)
    evaluate = DataLoader(TensorDataset(data.x_val, data.y_val), batch_size=1000)
    full = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=1000)

    def score(batches: DataLoader) -> tuple[float, float]:
        model.eval()
        loss = correct = n = 0
        with torch.no_grad():
            for xb, yb in batches:
                out = model(xb)
                loss += F.cross_entropy(out, yb, reduction="sum").item()
                correct += (out.argmax(1) == yb).sum().item()
                n += len(yb)
        model.train()
        return loss / n, correct / n

    start = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        score(evaluate)
    score(full)
    return time.perf_counter() - start


def harness(budget: train.Budget, epochs: int, seed: int, precision: str, threads: int) -> float:
    r = runner.Run(schedule=None, lr=0.05, seed=seed, budget=budget, epochs=epochs, precision=precision,
                   device="cpu", threads=threads)
    start = time.perf_counter()
    train.fit(r)
    return time.perf_counter() - start


def bench_harness(epochs: int, rounds: int, threads: int) -> None:
    budget = train.get_budget("cpu")
    fast = train.resolve_precision("cpu", "auto")
    sides = {"plain DataLoader loop (fp32)": lambda s: plain_loop(budget, epochs, s),
             "harness fp32 + channels_last": lambda s: harness(budget, epochs, s, "fp32", threads),
             f"harness auto ({fast}) + channels_last": lambda s: harness(budget, epochs, s, fast, threads)}
    for f in sides.values():  # warm-up: data loading, oneDNN kernel creation
        f(0)
    times: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(rounds):
        for name, f in (sides.items() if r % 2 == 0 else reversed(list(sides.items()))):
            times[name].append(f(r))
    base = statistics.median(times["plain DataLoader loop (fp32)"])
    print(f"\n1. one run of {epochs} epochs on the cpu budget ({budget.n_train} images, batch {budget.batch_size}, "
          f"width {budget.width}), with a validation pass per epoch and a final full pass; "
          f"CPU bf16 support: {train.cpu_has_bf16()}")
    print(f"{'':40s} {'s/run':>8s} {'s/epoch':>8s} {'speedup vs plain':>17s}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:40s} {m:8.3f} {m / epochs:8.3f} {base / m:17.2f}x")


def bench_cache(rounds: int, threads: int) -> None:
    budget = train.get_budget("smoke")
    runs = runner.grid({"constant": None, "cosine": lrlib.Cosine(budget.total_steps)}, lrs=[0.05, 0.1],
                       seeds=[0, 1], budget=budget, threads=threads)
    cold, warm, trained = [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            first = runner.run(runs, cache=folder, progress=False)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            second = runner.run(runs, cache=folder, progress=False)
            warm.append(time.perf_counter() - start)
            trained.append((first.attrs["trained"], second.attrs["trained"], int(second["cached"].sum())))
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"\n2. rebuilding a grid of {len(runs)} smoke-budget runs (2 schedules x 2 LRs x 2 seeds)")
    print(f"empty cache: {c:.3f} s, runs trained {trained[0][0]}")
    print(f"filled cache: {w:.3f} s, runs trained {trained[0][1]} ({trained[0][2]} served from the cache)")
    print(f"speedup of the cached rebuild: {c / w:.0f}x")


def bench_chapter(chapter: str, budget: str) -> None:
    import os
    import pathlib

    import nbformat
    from nbclient import NotebookClient

    path = pathlib.Path(__file__).resolve().parent.parent / "book" / f"{chapter}.ipynb"
    print(f"\n3. the {chapter} chapter end to end at LRLIB_BUDGET={budget}, in a fresh kernel each time")
    with tempfile.TemporaryDirectory() as cache:
        env = {"LRLIB_BUDGET": budget, "LRLIB_CACHE": cache, "LRLIB_PROGRESS": "0"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        try:
            times, counts = [], []
            for _ in range(2):
                nb = nbformat.read(path, as_version=4)
                start = time.perf_counter()
                NotebookClient(nb, timeout=3600, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
                times.append(time.perf_counter() - start)
                counts.append(sum(1 for _ in pathlib.Path(cache).rglob("*.json")))
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    print(f"empty run cache: {times[0]:.1f} s ({counts[0]} runs trained); "
          f"filled: {times[1]:.1f} s ({counts[1] - counts[0]} trained)")
    print(f"speedup of the cached chapter: {times[0] / times[1]:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chapter", default="comparison", help="chapter for part 3 ('' to skip)")
    ap.add_argument("--chapter-budget", default="smoke")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for every side (default: LRLIB_THREADS or torch's default)")
    args = ap.parse_args()
    threads = args.threads or runner.default_threads()
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} thread(s), {args.rounds} rounds (median), sides alternate")
    bench_harness(args.epochs, args.rounds, threads)
    bench_cache(args.rounds, threads)
    if args.chapter:
        bench_chapter(args.chapter, args.chapter_budget)


if __name__ == "__main__":
    main()
