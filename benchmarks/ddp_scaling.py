"""What a warmup buys at a large batch under the linear scaling rule, with DDP on the CPU.

Two processes (torch.distributed, gloo) train the cpu budget's CNN (``make_model("mnist5k", 16)``)
on its 4,000 MNIST digits (validated on 1,000) with SGD (momentum 0.9, weight decay 5e-4):

* ``ref``       global batch 64 (32 per rank), lr 0.05 (the constant's tuned LR), cosine;
* ``big``       global batch 512 (256 per rank), lr 0.05 * 512/64 = 0.4 (linear scaling), cosine;
* ``big+warm``  the same with a linear warmup of ``--warmup-epochs`` into the cosine;
* ``big-noscale`` global batch 512 at the unscaled lr 0.05, cosine (what the scaling rule is for).

Each configuration runs for ``--epochs`` epochs per seed; a seed fixes the initial weights and the
data order, so configurations are paired by seed. Printed per configuration and seed: validation
accuracy and the final training loss (a full pass over the training set after training), then
the paired difference ``big+warm - big``.

    python benchmarks/ddp_scaling.py [--epochs 2] [--seeds 0 1 2]   # re-launches itself with torchrun
    torchrun --standalone --nproc_per_node=2 benchmarks/ddp_scaling.py [...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

import lrlib
from lrlib.data import load_dataset
from lrlib.models import make_model

REF_BATCH, REF_LR = 64, 0.05


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=512, help="the large global batch")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--configs", nargs="+", default=["ref", "big", "big+warm", "big-noscale"])
    p.add_argument("--nproc", type=int, default=2, help="processes, when launching itself")
    return p.parse_args()


def configs(a: argparse.Namespace, n_train: int) -> dict[str, tuple[int, float, int]]:
    """name -> (global batch, peak lr, warmup steps)."""
    steps_per_epoch = n_train // a.batch
    w = max(1, round(a.warmup_epochs * steps_per_epoch))
    return {"ref": (REF_BATCH, REF_LR, 0), "big": (a.batch, REF_LR * a.batch / REF_BATCH, 0),
            "big+warm": (a.batch, REF_LR * a.batch / REF_BATCH, w), "big-noscale": (a.batch, REF_LR, 0)}


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, rank: int, world: int) -> tuple[float, float]:
    """Mean loss and accuracy over ``(x, y)``, each rank taking a shard, summed with all_reduce."""
    model.eval()
    xs, ys = x[rank::world], y[rank::world]
    tot = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(ys), 500):
        out = model(xs[i:i + 500])
        tot[0] += F.cross_entropy(out, ys[i:i + 500], reduction="sum").item()
        tot[1] += (out.argmax(1) == ys[i:i + 500]).sum().item()
        tot[2] += len(ys[i:i + 500])
    dist.all_reduce(tot)
    model.train()
    return float(tot[0] / tot[2]), float(tot[1] / tot[2])


def run_one(data, batch: int, lr: float, warmup: int, epochs: int, seed: int, rank: int, world: int) -> dict:
    n = len(data.y_train)
    per_rank = batch // world
    steps_per_epoch = n // batch  # the last partial global batch is dropped, as in lrlib.train
    total = epochs * steps_per_epoch
    sched_fn = lrlib.Cosine(total) if warmup == 0 else lrlib.Warmup(lrlib.Cosine(total - warmup), warmup)
    torch.manual_seed(seed)
    model = DDP(make_model("mnist5k", 16))  # DDP broadcasts rank 0's weights anyway
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    sched = lrlib.ScheduledLR(opt, sched_fn)
    losses = []
    for epoch in range(epochs):
        # one global order per epoch, the same on every rank; rank r takes its slice of each global batch
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for s in range(steps_per_epoch):
            idx = perm[s * batch + rank * per_rank: s * batch + (rank + 1) * per_rank]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    train_loss, train_acc = evaluate(model, data.x_train, data.y_train, rank, world)
    val_loss, val_acc = evaluate(model, data.x_val, data.y_val, rank, world)
    diverged = not all(map(lambda v: v == v and v < 1e6, losses))
    return {"train_loss": train_loss, "val_acc": val_acc, "val_loss": val_loss, "steps": total, "diverged": diverged}


def worker(a: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    say = print if rank == 0 else (lambda *_, **__: None)
    try:
        data = load_dataset("mnist5k", 4000, 1000)
        cfgs = configs(a, len(data.y_train))
        say(f"DDP gloo, {world} processes; {len(data.y_train)} train / {len(data.y_val)} val digits; "
            f"{a.epochs} epochs; SGD momentum 0.9, wd 5e-4; cosine to 0")
        for name in a.configs:
            b, lr, w = cfgs[name]
            say(f"  {name:12s} global batch {b} ({b // world}/rank), lr {lr:g}, warmup {w} steps, "
                f"{a.epochs * (len(data.y_train) // b)} steps")
        say(f"\n{'config':12s} {'seed':>4s} {'val acc':>8s} {'train loss':>10s} {'val loss':>9s} {'secs':>6s}")
        results: dict[str, dict[int, dict]] = {k: {} for k in a.configs}
        for seed in a.seeds:
            for name in a.configs:
                b, lr, w = cfgs[name]
                t0 = time.perf_counter()
                r = run_one(data, b, lr, w, a.epochs, seed, rank, world)
                r["secs"] = time.perf_counter() - t0
                results[name][seed] = r
                say(f"{name:12s} {seed:4d} {100 * r['val_acc']:7.2f}% {r['train_loss']:10.4f} "
                    f"{r['val_loss']:9.4f} {r['secs']:6.1f}" + ("  DIVERGED" if r["diverged"] else ""), flush=True)
        say(f"\nmeans over seeds {a.seeds}:")
        for name in a.configs:
            rs = list(results[name].values())
            say(f"  {name:12s} val acc {100 * statistics.mean(r['val_acc'] for r in rs):6.2f}%  "
                f"train loss {statistics.mean(r['train_loss'] for r in rs):.4f}")
        if "big" in results and "big+warm" in results:
            say("\npaired by seed, big+warm - big:")
            da = [results["big+warm"][s]["val_acc"] - results["big"][s]["val_acc"] for s in a.seeds]
            dl = [results["big+warm"][s]["train_loss"] - results["big"][s]["train_loss"] for s in a.seeds]
            for s, x, y in zip(a.seeds, da, dl):
                say(f"  seed {s}: val acc {100 * x:+6.2f} points, train loss {y:+.4f}")
            sd = statistics.stdev(da) if len(da) > 1 else float("nan")
            say(f"  mean: val acc {100 * statistics.mean(da):+6.2f} points (sd {100 * sd:.2f}), "
                f"train loss {statistics.mean(dl):+.4f}")
    finally:
        dist.destroy_process_group()


def main() -> None:
    a = parse()
    if "RANK" in os.environ:
        worker(a)
        return
    # not under torchrun: launch this script again under it
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={a.nproc}",
            os.path.abspath(__file__), *sys.argv[1:]]
    os.execve(sys.executable, args, env)


if __name__ == "__main__":
    main()
