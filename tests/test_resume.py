"""Exact resume: a scheduler restored from state_dict at any step continues with the same LRs
as one that never stopped, also through torch.save / torch.load(weights_only=True)."""
from __future__ import annotations

import io
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlib
from conftest import make_optimizer

SCHEDULES = [
    lrlib.StepDecay(7, 0.5),
    lrlib.MultiStep([3, 20, 41], 0.3),
    lrlib.Exponential(0.97),
    lrlib.Cosine(60, 0.05),
    lrlib.Cyclic(0.1, 9, 4, mode="triangular2"),
]


def _run(opt, sched, n):
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SCHEDULES), st.integers(min_value=0, max_value=80), st.sampled_from(["sgd", "adam"]))
def test_resume_at_any_step_is_exact(schedule, stop, kind):
    mom = lrlib.Cyclic(0.1, 9).momentum(0.85, 0.95)
    o1 = make_optimizer(kind, groups=2)
    s1 = lrlib.ScheduledLR(o1, schedule, momentum=mom)
    reference = _run(o1, s1, 100)

    o2 = make_optimizer(kind, groups=2)
    s2 = lrlib.ScheduledLR(o2, schedule, momentum=mom)
    _run(o2, s2, stop)
    buf = io.BytesIO()
    torch.save({"opt": o2.state_dict(), "sched": s2.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)

    o3 = make_optimizer(kind, groups=2)
    s3 = lrlib.ScheduledLR(o3, schedule, momentum=mom)
    o3.load_state_dict(ckpt["opt"])
    s3.load_state_dict(ckpt["sched"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = _run(o3, s3, 100 - stop)
    assert resumed == reference[stop:]  # exact, not approximately
    key = "betas" if kind == "adam" else "momentum"
    m3 = o3.param_groups[0][key]
    assert (m3[0] if key == "betas" else m3) == mom(100)


def test_load_rejects_a_different_schedule():
    o = make_optimizer()
    s = lrlib.ScheduledLR(o, lrlib.Cosine(10))
    state = s.state_dict()
    other = lrlib.ScheduledLR(make_optimizer(), lrlib.Cosine(20))
    with pytest.raises(ValueError, match="schedule"):
        other.load_state_dict(state)


def test_plateau_resume_is_exact():
    metrics = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, float("nan"), 0.7, 0.7, 0.7, 0.7, 0.7]
    p = lrlib.Plateau(patience=1, gamma=0.5, cooldown=1)
    o1 = make_optimizer(groups=2)
    ref = lrlib.PlateauLR(o1, p)
    want = []
    for m in metrics:
        ref.step(m)
        want.append(ref.get_last_lr())
    for stop in range(len(metrics)):
        o2 = make_optimizer(groups=2)
        a = lrlib.PlateauLR(o2, p)
        for m in metrics[:stop]:
            a.step(m)
        buf = io.BytesIO()
        torch.save(a.state_dict(), buf)
        buf.seek(0)
        b = lrlib.PlateauLR(make_optimizer(groups=2), p)
        b.load_state_dict(torch.load(buf, weights_only=True))
        got = []
        for m in metrics[stop:]:
            b.step(m)
            got.append(b.get_last_lr())
        assert got == want[stop:]


def test_tensor_lrs_are_written_in_place():
    o = make_optimizer(groups=2, tensor_lr=True)
    lr_tensors = [g["lr"] for g in o.param_groups]
    s = lrlib.ScheduledLR(o, lrlib.Cosine(10))
    for _ in range(5):
        o.step()
        s.step()
    for g, t in zip(o.param_groups, lr_tensors):
        assert g["lr"] is t  # same tensor object: torch.compile sees no new constant
    assert float(o.param_groups[0]["lr"]) == pytest.approx(0.1 * lrlib.Cosine(10)(5))


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_group_gets_its_base_lr_times_the_factor(kind):
    o = make_optimizer(kind, groups=3)
    s = lrlib.ScheduledLR(o, lrlib.StepDecay(2, 0.5))
    for t in range(6):
        for i, g in enumerate(o.param_groups):
            assert g["lr"] == pytest.approx(0.1 * (i + 1) * 0.5 ** (t // 2))
        o.step()
        s.step()
