"""lrlib.diagnostics: check_lr / LRMonitor catch the common scheduler bugs in real loops, and the
LR logged to a real TensorBoard SummaryWriter reads back one scalar per step, equal to the schedule."""
from __future__ import annotations

import pytest
import torch

import lrlib
from lrlib.diagnostics import LRMonitor, check_lr, expected_lrs, log_lr, read_scalars

BASE = 0.1
STEPS_PER_EPOCH, EPOCHS = 8, 3
TOTAL = STEPS_PER_EPOCH * EPOCHS
SCHEDULE = lrlib.Warmup(lrlib.Cosine(TOTAL, 0.1), 4)  # what we mean: sized in optimizer updates


def _setup(schedule=SCHEDULE, groups=1):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    params = [{"params": [model.weight], "lr": BASE}]
    if groups == 2:
        params.append({"params": [model.bias], "lr": BASE / 10})
    opt = torch.optim.SGD(params, lr=BASE, momentum=0.9)
    return model, opt, lrlib.ScheduledLR(opt, schedule)


def _batch(model, i):
    g = torch.Generator().manual_seed(i)
    x = torch.randn(8, 4, generator=g)
    return torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))


def _update(model, opt, i):
    opt.zero_grad()
    _batch(model, i).backward()


def test_correct_loop_passes_with_schedule_or_scheduler():
    model, opt, sched = _setup(groups=2)
    mon = LRMonitor()
    for step in range(TOTAL):
        _update(model, opt, step)
        check_lr(opt, sched, step)
        check_lr(opt, SCHEDULE, step, base_lrs=[BASE, BASE / 10])
        check_lr(opt, SCHEDULE, step)  # base LRs from the groups' initial_lr
        mon.record(opt)
        opt.step()
        sched.step()
    assert mon.steps == TOTAL and len(mon.lrs) == 2
    mon.check(SCHEDULE, [BASE, BASE / 10])
    mon.check(sched)
    assert mon.mismatches(SCHEDULE, [BASE, BASE / 10]) == []


def test_scheduler_stepped_before_optimizer_is_caught():
    model, opt, sched = _setup()
    # (PyTorch's "lr_scheduler.step() before optimizer.step()" warning does not fire here)
    with pytest.raises(ValueError, match=r"param group 0 at step 0: the schedule says lr=0\.0, "
                                         r"the optimizer applies lr=0\.025"):
        for step in range(TOTAL):
            _update(model, opt, step)
            sched.step()  # wrong: the LR of step + 1 is applied to this update
            check_lr(opt, sched, step)
            opt.step()


def test_schedule_sized_in_epochs_but_stepped_per_batch_is_caught():
    in_epochs = lrlib.Warmup(lrlib.Cosine(EPOCHS, 0.1), 1)
    model, opt, sched = _setup(in_epochs)
    mon = LRMonitor()
    for step in range(TOTAL):
        _update(model, opt, step)
        mon.record(opt)
        opt.step()
        sched.step()  # per batch, but the schedule counts epochs: over after 4 updates
    with pytest.raises(ValueError, match=r"param group 0 at step 1: .* 23 of 24 steps differ"):
        mon.check(SCHEDULE, [BASE])
    bad = mon.mismatches(SCHEDULE, [BASE])
    assert len(bad) == TOTAL - 1  # only the last step agrees: both schedules end at 0.1
    assert mon.lrs[0][EPOCHS + 1:] == pytest.approx([BASE * 0.1] * (TOTAL - EPOCHS - 1))


def test_scheduler_stepped_per_micro_batch_is_caught():
    accum = 4
    model, opt, sched = _setup()
    updates = 0
    with pytest.raises(ValueError, match=r"at step 0: the schedule says lr=0\.0, the optimizer "
                                         r"applies lr=0\.1"):  # 4 micro-steps into the warmup
        for micro in range(TOTAL * accum):
            (_batch(model, micro) / accum).backward()
            sched.step()  # wrong: once per micro-batch
            if (micro + 1) % accum == 0:
                check_lr(opt, SCHEDULE, updates, base_lrs=[BASE])
                opt.step()
                opt.zero_grad()
                updates += 1


def test_gradient_accumulation_done_right_passes():
    accum = 4
    model, opt, sched = _setup()
    updates = 0
    for micro in range(TOTAL * accum):
        (_batch(model, micro) / accum).backward()
        if (micro + 1) % accum == 0:
            check_lr(opt, SCHEDULE, updates, base_lrs=[BASE])
            opt.step()
            sched.step()  # right: once per optimizer update
            opt.zero_grad()
            updates += 1
    assert updates == TOTAL


def _train(model, opt, sched, start, stop):
    for step in range(start, stop):
        _update(model, opt, step)
        check_lr(opt, SCHEDULE, step, base_lrs=[BASE])
        opt.step()
        sched.step()


@pytest.mark.parametrize("forget", [True, False])
def test_resume_without_scheduler_state_is_caught(tmp_path, forget):
    model, opt, sched = _setup()
    _train(model, opt, sched, 0, 10)
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
               tmp_path / "ckpt.pt")

    model2, opt2, sched2 = _setup()
    ck = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    if not forget:
        sched2.load_state_dict(ck["sched"])
        _train(model2, opt2, sched2, 10, TOTAL)
        return
    # the optimizer's state_dict restores the LR of step 10, so the first update after the resume
    # is right; the fresh scheduler's first step() then writes the LR of step 1
    with pytest.raises(ValueError, match=r"param group 0 at step 11: .* applies lr=0\.025"):
        _train(model2, opt2, sched2, 10, TOTAL)


def test_errors_name_the_problem():
    _, opt, sched = _setup()
    with pytest.raises(TypeError, match="PlateauLR"):
        check_lr(opt, lrlib.PlateauLR(opt, lrlib.Plateau()), 0)
    bare = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="base_lrs"):
        check_lr(bare, SCHEDULE, 0)
    with pytest.raises(ValueError, match="2 base LRs"):
        check_lr(opt, SCHEDULE, 0, base_lrs=[0.1, 0.2])
    with pytest.raises(TypeError, match="Optimizer"):
        check_lr(None, SCHEDULE, 0, base_lrs=[0.1])
    assert expected_lrs(SCHEDULE, 4, [1.0]) == [SCHEDULE(4)]


def test_tensorboard_holds_one_lr_scalar_per_step_equal_to_the_schedule(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    model, opt, sched = _setup(groups=2)
    writer = SummaryWriter(log_dir=str(tmp_path))
    for step in range(TOTAL):
        _update(model, opt, step)
        log_lr(writer, opt, step)
        opt.step()
        sched.step()
    writer.close()
    for i, base in enumerate((BASE, BASE / 10)):
        got = read_scalars(tmp_path, f"lr/group{i}")
        assert [s for s, _ in got] == list(range(TOTAL))  # exactly one scalar per step
        assert [v for _, v in got] == pytest.approx([base * SCHEDULE(t) for t in range(TOTAL)], rel=1e-6)
    with pytest.raises(ValueError, match="no scalar tag 'lr'"):
        read_scalars(tmp_path, "lr")
