"""One rank of the DDP job that ``tests/test_ddp.py`` launches with ``torchrun`` (gloo, CPU).

A tiny linear model on synthetic data, each rank training on its own shard (a manual split by rank),
with the linear scaling rule (``lr = base * world_size``) and ``lrlib.ScheduledLR`` over a warmup
into a cosine. Every rank records the LR it applies at every step (read back from the optimizer's
param groups), gathers everyone's record with ``dist.all_gather_object``, and writes
``rank{r}.json`` to ``--out``: its LRs, the gathered LRs, and its parameters after training.
Rank 0 also saves ``ckpt.pt`` (model, optimizer and scheduler state) after ``--ckpt-step`` steps.

    torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py --out DIR
"""
from __future__ import annotations

import argparse
import json
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

import lrlib


def schedule(total: int, warmup: int) -> lrlib.Schedule:
    return lrlib.Warmup(lrlib.Cosine(total - warmup), warmup_steps=warmup)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--base-lr", type=float, default=0.05)
    p.add_argument("--per-rank-batch", type=int, default=8)
    p.add_argument("--ckpt-step", type=int, default=12)
    a = p.parse_args()

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        # the same synthetic data set on every rank; each rank takes its own interleaved shard
        g = torch.Generator().manual_seed(0)
        n = a.steps * a.per_rank_batch * world
        x = torch.randn(n, 10, generator=g)
        y = (x @ torch.randn(10, 1, generator=g)).squeeze(1) + 0.1 * torch.randn(n, generator=g)
        xs, ys = x[rank::world], y[rank::world]

        # different seeds per rank on purpose: DDP must broadcast rank 0's initial weights
        torch.manual_seed(1234 + rank)
        model = DDP(torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)))
        lr = a.base_lr * world  # the linear scaling rule: the global batch is world * per_rank_batch
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        sched = lrlib.ScheduledLR(opt, schedule(a.steps, a.warmup))

        lrs: list[float] = []
        for step in range(a.steps):
            xb = xs[step * a.per_rank_batch:(step + 1) * a.per_rank_batch]
            yb = ys[step * a.per_rank_batch:(step + 1) * a.per_rank_batch]
            lrs.append(float(opt.param_groups[0]["lr"]))  # the LR this update applies
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(xb).squeeze(1), yb).backward()
            opt.step()
            sched.step()
            if rank == 0 and step + 1 == a.ckpt_step:
                torch.save({"model": model.module.state_dict(), "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict(), "next_lr": float(opt.param_groups[0]["lr"])},
                           os.path.join(a.out, "ckpt.pt"))

        gathered: list = [None] * world
        dist.all_gather_object(gathered, lrs)
        params = [t.detach().flatten().tolist() for t in model.module.parameters()]
        with open(os.path.join(a.out, f"rank{rank}.json"), "w") as f:
            json.dump({"rank": rank, "world": world, "lr": lr, "lrs": lrs, "gathered": gathered,
                       "params": params, "steps": a.steps, "warmup": a.warmup}, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
