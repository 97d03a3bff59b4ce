"""Shared fixtures and helpers for the lrlib tests."""
from __future__ import annotations

import os
import tempfile
import warnings

import pytest
import torch

os.environ.setdefault("LRLIB_BUDGET", "smoke")
os.environ.setdefault("LRLIB_PROGRESS", "0")
os.environ.setdefault("KERAS_BACKEND", "torch")  # keras 3 on torch: no tensorflow here
# The runner's disk cache: a fresh folder per test session, so tests (and the notebooks nbmake runs
# in kernels that inherit this environment) neither read nor fill the user's ~/.cache/lrlib/runs.
os.environ.setdefault("LRLIB_CACHE", tempfile.mkdtemp(prefix="lrlib-test-runs-"))
# pytest -n 2 already keeps both cores busy: one intra-op thread per run is faster than two fighting
os.environ.setdefault("LRLIB_THREADS", "1")


def make_optimizer(kind: str = "sgd", lr: float = 0.1, groups: int = 1, tensor_lr: bool = False) -> torch.optim.Optimizer:
    """A tiny optimizer over throwaway parameters: ``groups`` param groups with LRs lr, 2*lr, ..."""
    torch.manual_seed(0)
    params = [{"params": [torch.nn.Parameter(torch.randn(2, 2))], "lr": lr * (i + 1)} for i in range(groups)]
    if tensor_lr:
        for p in params:
            p["lr"] = torch.tensor(p["lr"], dtype=torch.float64)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=0.5)
    raise ValueError(kind)


def lr_trace(opt: torch.optim.Optimizer, sched, steps: int, key: str = "lr", metric=None) -> list[list[float]]:
    """The values of ``key`` in every group before each of ``steps`` updates (after optimizer.step, sched.step)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a false "step before optimizer" warning fails the test
        for _ in range(steps):
            out.append([float(g[key][0]) if key == "betas" else float(g[key]) for g in opt.param_groups])
            opt.step()
            sched.step()
    return out


@pytest.fixture
def opt():
    return make_optimizer()
