"""ScheduledLR under torch.distributed DDP: 2 CPU processes on gloo, launched by ``torchrun``.

The job (``tests/ddp_worker.py``) trains a tiny model with the linear scaling rule
(``lr = base * world_size``) and a warmup into a cosine. The checks:

(a) every rank applied the same LR at every step (gathered in the job with ``all_gather_object``,
    and compared again across the per-rank JSON files here),
(b) those LRs are exactly ``base * world_size * schedule(step)``,
(c) the parameters are identical across ranks after training (DDP's all-reduce),
(d) rank 0's checkpoint restores the LR exactly in a fresh process (this one).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lrlib

dist = pytest.importorskip("torch.distributed")
if not dist.is_available():
    pytest.skip("torch.distributed is not available in this torch build", allow_module_level=True)
if not dist.is_gloo_available():
    pytest.skip("torch.distributed has no gloo backend in this torch build", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "ddp_worker.py"
WORLD, STEPS, WARMUP, BASE_LR, CKPT_STEP = 2, 20, 5, 0.05, 12


def _launch(out: Path) -> subprocess.CompletedProcess:
    """``torchrun --standalone``; if its rendezvous fails, once more on an explicit c10d endpoint."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    job = [str(WORKER), "--out", str(out), "--steps", str(STEPS), "--warmup", str(WARMUP),
           "--base-lr", str(BASE_LR), "--ckpt-step", str(CKPT_STEP)]
    run = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={WORLD}"]
    res = None
    for rdzv in (["--standalone"], ["--rdzv-backend=c10d", "--rdzv-endpoint=localhost:0"]):
        res = subprocess.run(run + rdzv + job, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if res.returncode == 0:
            break
    return res


def test_ddp_linear_scaling_warmup(tmp_path):
    """One launch (about 10 s) for all four checks, so pytest-xdist cannot start it twice."""
    res = _launch(tmp_path)
    assert res.returncode == 0, f"torchrun failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    job = tmp_path, [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    _check_ranks_apply_identical_lrs(job)
    _check_lrs_follow_linear_scaling_times_schedule(job)
    _check_parameters_identical_across_ranks(job)
    _check_checkpoint_restores_lr_in_fresh_process(job)


def _schedule() -> lrlib.Schedule:
    return lrlib.Warmup(lrlib.Cosine(STEPS - WARMUP), warmup_steps=WARMUP)


def _check_ranks_apply_identical_lrs(job):
    _, ranks = job
    assert [r["world"] for r in ranks] == [WORLD] * WORLD
    for r in ranks:
        assert len(r["lrs"]) == STEPS
        assert r["gathered"] == [ranks[0]["lrs"]] * WORLD  # all_gather_object inside the job
    assert all(r["lrs"] == ranks[0]["lrs"] for r in ranks)  # the files agree too


def _check_lrs_follow_linear_scaling_times_schedule(job):
    _, ranks = job
    s = _schedule()
    expected = [BASE_LR * WORLD * s(t) for t in range(STEPS)]
    assert ranks[0]["lr"] == BASE_LR * WORLD
    assert ranks[0]["lrs"] == expected  # exact: the same float arithmetic as ScheduledLR
    # the shape: 0 at step 0, a linear ramp to the scaled peak at the warmup's end, then down
    assert expected[0] == 0.0 and expected[WARMUP] == pytest.approx(BASE_LR * WORLD)
    assert max(expected) == pytest.approx(BASE_LR * WORLD)
    assert all(a < b for a, b in zip(expected[:WARMUP], expected[1:WARMUP + 1]))
    assert all(a >= b for a, b in zip(expected[WARMUP:], expected[WARMUP + 1:]))


def _check_parameters_identical_across_ranks(job):
    _, ranks = job
    for r in ranks[1:]:
        assert r["params"] == ranks[0]["params"]  # bitwise: DDP all-reduces the same averaged gradients


def _check_checkpoint_restores_lr_in_fresh_process(job):
    out, ranks = job
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    model.load_state_dict(ckpt["model"])
    opt = torch.optim.SGD(model.parameters(), lr=BASE_LR * WORLD, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, _schedule())
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    lr = opt.param_groups[0]["lr"]
    assert lr == ckpt["next_lr"] == ranks[0]["lrs"][CKPT_STEP]
    assert sched.last_epoch == CKPT_STEP
    # and it keeps following the schedule the ranks applied after the checkpoint
    resumed = []
    for _ in range(CKPT_STEP, STEPS):
        resumed.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert resumed == ranks[0]["lrs"][CKPT_STEP:]
