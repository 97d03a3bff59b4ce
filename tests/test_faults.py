"""Faults found by trying lrlib as a new user and as an attacker would (issue: lrlib 0.2).

Each test here failed on lrlib 0.1: a checkpoint, metric, param group, momentum or config that
made training run at a wrong learning rate without a word, or failed with an unclear error.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

import lrlib
from conftest import make_optimizer


def _lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def _roundtrip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


# --------------------------------------------------------------------------- 1. strict checkpoints
def _scheduled(schedule=None, momentum=None, groups=1):
    opt = make_optimizer(groups=groups)
    return opt, lrlib.ScheduledLR(opt, schedule or lrlib.OneCycle(100), momentum=momentum)


def _advance(opt, sched, n=7):
    for _ in range(n):
        opt.step()
        sched.step()


FOREIGN = {
    "OneCycleLR": lambda o: tls.OneCycleLR(o, max_lr=0.1, total_steps=100),
    "StepLR": lambda o: tls.StepLR(o, 10),
    "ReduceLROnPlateau": lambda o: tls.ReduceLROnPlateau(o),
    "PlateauLR": lambda o: lrlib.PlateauLR(o, lrlib.Plateau()),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_scheduled_lr_refuses_a_foreign_checkpoint_and_changes_nothing(kind):
    other = FOREIGN[kind](make_optimizer())
    opt, sched = _scheduled()
    _advance(opt, sched)
    before, step = _lrs(opt), sched.last_epoch
    with pytest.raises(ValueError, match="not a ScheduledLR checkpoint"):
        sched.load_state_dict(other.state_dict())
    assert _lrs(opt) == before and sched.last_epoch == step and sched.base_lrs == [0.1]


@pytest.mark.parametrize("kind", ["OneCycleLR", "StepLR", "ReduceLROnPlateau"])
def test_plateau_lr_refuses_a_foreign_checkpoint(kind):
    other = FOREIGN[kind](make_optimizer())
    sched = lrlib.PlateauLR(make_optimizer(), lrlib.Plateau())
    with pytest.raises(ValueError, match="not a PlateauLR checkpoint"):
        sched.load_state_dict(other.state_dict())


@pytest.mark.parametrize("bad", [{}, [], None, "ckpt"])
def test_empty_or_non_dict_checkpoints_are_refused(bad):
    with pytest.raises(ValueError, match="ScheduledLR"):
        _scheduled()[1].load_state_dict(bad)
    with pytest.raises(ValueError, match="PlateauLR"):
        lrlib.PlateauLR(make_optimizer(), lrlib.Plateau()).load_state_dict(bad)


def test_missing_and_extra_keys_are_named():
    opt, sched = _scheduled()
    state = sched.state_dict()
    with pytest.raises(ValueError, match=r"missing keys \['base_lrs'\]"):
        sched.load_state_dict({k: v for k, v in state.items() if k != "base_lrs"})
    with pytest.raises(ValueError, match=r"unexpected keys \['step_size'\]"):
        sched.load_state_dict({**state, "step_size": 3})


def test_momentum_schedule_must_match():
    mom = lrlib.OneCycle(100).momentum()
    _, without = _scheduled()
    opt, with_mom = _scheduled(momentum=mom)
    _advance(opt, with_mom)
    before = opt.param_groups[0]["momentum"]
    with pytest.raises(ValueError, match="momentum schedule"):
        with_mom.load_state_dict(without.state_dict())
    with pytest.raises(ValueError, match="momentum schedule"):
        without.load_state_dict(with_mom.state_dict())
    assert opt.param_groups[0]["momentum"] == before


def test_param_group_count_must_match():
    _, one = _scheduled(groups=1)
    opt2, two = _scheduled(groups=2)
    with pytest.raises(ValueError, match="1 param groups, this optimizer has 2"):
        two.load_state_dict(one.state_dict())
    p_one = lrlib.PlateauLR(make_optimizer(groups=1), lrlib.Plateau())
    p_two = lrlib.PlateauLR(make_optimizer(groups=2), lrlib.Plateau())
    with pytest.raises(ValueError, match="1 param groups, this optimizer has 2"):
        p_two.load_state_dict(p_one.state_dict())


def test_plateau_settings_and_warmup_must_match():
    base = lrlib.PlateauLR(make_optimizer(), lrlib.Plateau(), warmup=lrlib.Linear(0.1, 1.0, 10))
    other_warmup = lrlib.PlateauLR(make_optimizer(), lrlib.Plateau(), warmup=lrlib.Linear(0.01, 1.0, 10))
    no_warmup = lrlib.PlateauLR(make_optimizer(), lrlib.Plateau())
    other_plateau = lrlib.PlateauLR(make_optimizer(), lrlib.Plateau(patience=3),
                                    warmup=lrlib.Linear(0.1, 1.0, 10))
    for target in (other_warmup, no_warmup):
        with pytest.raises(ValueError, match="warmup"):
            target.load_state_dict(base.state_dict())
    with pytest.raises(ValueError, match="plateau settings"):
        other_plateau.load_state_dict(base.state_dict())


def test_bad_values_inside_a_checkpoint_are_refused():
    _, sched = _scheduled()
    state = sched.state_dict()
    with pytest.raises(ValueError, match="last_epoch"):
        sched.load_state_dict({**state, "last_epoch": "7"})
    with pytest.raises(ValueError, match="base_lrs"):
        sched.load_state_dict({**state, "base_lrs": [float("nan")]})
    with pytest.raises(ValueError, match="schedule is not a valid config"):
        sched.load_state_dict({**state, "schedule": {"name": "Cosine", "total_steps": -1}})


def test_a_deliberate_schedule_change_is_explicit_and_exact():
    old, new = lrlib.Cosine(100), lrlib.Cosine(200)
    opt, sched = _scheduled(old)
    _advance(opt, sched, 40)
    ckpt = _roundtrip(sched.state_dict())
    opt2, resumed = _scheduled(new)
    with pytest.raises(ValueError, match="allow_schedule_change"):
        resumed.load_state_dict(ckpt)
    resumed.load_state_dict(ckpt, allow_schedule_change=True)
    assert resumed.last_epoch == 40 and _lrs(opt2) == [0.1 * new(40)]
    assert resumed.state_dict()["schedule"] == new.to_config()


# --------------------------------------------------------------------------- 2. metrics
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_metrics_follow_nan_policy(bad):
    s = lrlib.Plateau(patience=0, gamma=0.5).update(lrlib.PlateauState(), 1.0)
    ignore = lrlib.Plateau(patience=0, gamma=0.5, nan_policy="ignore")
    assert ignore.update(s, bad) == s
    counted = lrlib.Plateau(patience=0, gamma=0.5, nan_policy="bad").update(s, bad)
    assert counted.scale == 0.5 and counted.best == 1.0  # a bad evaluation; never the best value
    with pytest.raises(ValueError, match="not finite"):
        lrlib.Plateau(nan_policy="raise").update(s, bad)


def test_minus_inf_does_not_become_the_best_loss():
    # 0.1: -inf became the best value, so every later improvement counted as bad and the LR was cut
    p = lrlib.Plateau(patience=1, gamma=0.5, nan_policy="ignore")
    state = lrlib.PlateauState()
    for loss in [1.0, -math.inf, 0.9, 0.8, 0.7, 0.6]:
        state = p.update(state, loss)
    assert state.scale == 1.0 and state.best == 0.6


@pytest.mark.parametrize("bad", ["0.5", b"0.5", True, np.bool_(False), torch.tensor(True), torch.tensor([1.0, 2.0]), None, [0.5]])
def test_metrics_must_be_numbers(bad):
    with pytest.raises(ValueError, match="metric"):
        lrlib.Plateau().update(lrlib.PlateauState(), bad)


@pytest.mark.parametrize("good", [np.float32(0.5), np.int64(1), torch.tensor(0.5), torch.tensor([0.5])])
def test_numpy_and_tensor_metrics_are_numbers(good):
    assert lrlib.Plateau().update(lrlib.PlateauState(), good).best == pytest.approx(float(good))


# --------------------------------------------------------------------------- 2. param groups added later
def test_scheduled_lr_follows_a_group_added_later():
    opt, sched = _scheduled(lrlib.StepDecay(5, 0.5))
    _advance(opt, sched, 3)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.02})
    _advance(opt, sched, 4)  # step 7: one halving
    assert _lrs(opt) == [0.05, 0.01]
    assert sched.base_lrs == [0.1, 0.02] and sched.get_last_lr() == [0.05, 0.01]
    ckpt = _roundtrip(sched.state_dict())
    assert len(ckpt["base_lrs"]) == 2


def test_plateau_lr_cuts_a_group_added_later():
    opt = make_optimizer()
    sched = lrlib.PlateauLR(opt, lrlib.Plateau(patience=0, gamma=0.5))
    sched.step(1.0)
    sched.step(2.0)  # cut: 0.05
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.02})
    sched.step(3.0)  # cut again: both groups halve, the new one from the LR it was added with
    assert _lrs(opt) == [0.025, 0.01]
    torch_opt = make_optimizer()
    theirs = tls.ReduceLROnPlateau(torch_opt, factor=0.5, patience=0)
    theirs.step(1.0)
    theirs.step(2.0)
    torch_opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.02})
    theirs.step(3.0)
    assert _lrs(torch_opt) == pytest.approx(_lrs(opt))


# --------------------------------------------------------------------------- 2. momentum range
@pytest.mark.parametrize("make", [
    lambda: lrlib.ScheduledLR(make_optimizer(), lrlib.Constant(), momentum=lrlib.Constant(5.0)),
    lambda: lrlib.ScheduledLR(make_optimizer(), lrlib.Constant(), momentum=lrlib.Constant(1.0)),
    lambda: lrlib.ScheduledLR(make_optimizer(), lrlib.Constant(), momentum=lrlib.Linear(0.9, 1.2, 10)),
    lambda: lrlib.OneCycle(100).momentum(0.85, 1.0),
    lambda: lrlib.Cyclic(0.1, 10).momentum(0.8, 1.0),
])
def test_momentum_outside_0_1_is_refused(make):
    with pytest.raises(ValueError, match="momentum"):
        make()


# --------------------------------------------------------------------------- 2. configs
def test_deeply_nested_config_is_refused_with_value_error():
    config: dict = {"name": "Constant", "factor": 1.0}
    for _ in range(5000):
        config = {"name": "Join", "schedules": [config], "boundaries": []}
    with pytest.raises(ValueError, match="nested"):
        lrlib.from_config(config)


def test_one_from_config_for_schedules_and_plateau():
    p = lrlib.Plateau(gamma=0.3, patience=4, nan_policy="ignore")
    assert lrlib.from_config(p.to_config()) == p


@pytest.mark.parametrize("config, match", [
    ({"name": "Cosine", "total_steps": 10, "min_factor": 0.1}, "unknown keys"),
    ({"name": "Cosine"}, "incomplete"),
    ({"name": ["Cosine"]}, "config\\['name'\\]"),
    ({"name": "Plateau", "factor": 0.5}, "unknown keys"),
])
def test_bad_configs_are_refused(config, match):
    with pytest.raises(ValueError, match=match):
        lrlib.from_config(config)


def test_a_subclass_with_the_same_name_cannot_hijack_from_config():
    class Cosine(lrlib.Cosine):  # a user's subclass, same bare name
        def value(self, step: float) -> float:
            return 1.0

    assert type(lrlib.from_config(lrlib.Cosine(10).to_config())) is lrlib.Cosine
    mine = Cosine(10)
    assert mine.to_config()["name"].endswith(".Cosine") and mine.to_config()["name"] != "Cosine"
    assert type(lrlib.from_config(mine.to_config())) is Cosine


# --------------------------------------------------------------------------- 3. numpy and torch numbers
def test_numpy_and_torch_numbers_are_numbers():
    assert lrlib.Cosine(np.int64(100)) == lrlib.Cosine(100)
    assert lrlib.Cosine(torch.tensor(100)) == lrlib.Cosine(100)
    assert lrlib.Cosine(100)(np.int64(5)) == lrlib.Cosine(100)(5)
    assert lrlib.Cosine(100)(torch.tensor(5)) == lrlib.Cosine(100)(5)
    pl = lrlib.PiecewiseLinear(np.linspace(0, 100, 3), np.array([0.0, 1.0, 0.0]))
    assert pl.xs == (0.0, 50.0, 100.0) and all(type(x) is float for x in pl.xs + pl.ys)
    c = lrlib.Cosine(100, end=np.float64(0.1))
    assert type(c.end) is float and type(c.total_steps) is int


def test_step_with_a_numpy_epoch():
    opt, sched = _scheduled(lrlib.StepDecay(2, 0.5))
    sched.step(epoch=np.int64(5))
    assert sched.last_epoch == 5 and type(sched.last_epoch) is int and _lrs(opt) == [0.1 * 0.25]


NUMPY_BUILT = [
    lambda: lrlib.StepDecay(np.int64(10), np.float64(0.5)),
    lambda: lrlib.MultiStep(np.array([10, 20]), np.float32(0.5)),
    lambda: lrlib.Exponential(np.float64(0.99), np.int32(3), np.bool_(True)),
    lambda: lrlib.Cosine(np.int64(100), np.float64(0.1)),
    lambda: lrlib.Linear(np.float64(0.1), np.float64(1.0), np.int64(50)),
    lambda: lrlib.Polynomial(np.int64(100), np.float64(0.01), np.float64(2.0)),
    lambda: lrlib.Cyclic(np.float64(0.1), np.int64(20)),
    lambda: lrlib.OneCycle(np.int64(200), np.float64(0.25)),
    lambda: lrlib.CosineRestarts(np.int64(10), np.int64(2), np.float64(0.5), np.float64(0.01)),
    lambda: lrlib.InverseSqrt(np.int64(10)),
    lambda: lrlib.InverseTime(np.float64(0.5), np.int64(10)),
    lambda: lrlib.Warmup(lrlib.Cosine(np.int64(100)), np.int64(10)),
    lambda: lrlib.Join([lrlib.Constant(np.float64(0.5)), lrlib.Cosine(50)], np.array([10])),
    lambda: lrlib.WSD(np.int64(100), np.int64(20), np.int64(10)),
    lambda: lrlib.PiecewiseLinear(np.linspace(0, 100, 3), np.array([0.1, 1.0, 0.0])),
]


@pytest.mark.parametrize("make", NUMPY_BUILT)
def test_numpy_built_schedules_checkpoint_with_weights_only(make):
    schedule = make()
    opt = make_optimizer()
    sched = lrlib.ScheduledLR(opt, schedule)
    _advance(opt, sched, 5)
    ckpt = _roundtrip(sched.state_dict())  # weights_only=True: only plain Python values pass
    again = lrlib.ScheduledLR(make_optimizer(), make())
    again.load_state_dict(ckpt)
    assert again.get_last_lr() == sched.get_last_lr()


def test_numpy_built_plateau_checkpoints_with_weights_only():
    opt = make_optimizer()
    p = lrlib.Plateau(gamma=np.float64(0.5), patience=np.int64(0), min_factor=np.float32(0.25))
    sched = lrlib.PlateauLR(opt, p)
    sched.step(np.float64(1.0))
    sched.step(np.float32(2.0))
    ckpt = _roundtrip(sched.state_dict())
    again = lrlib.PlateauLR(make_optimizer(), p)
    again.load_state_dict(ckpt)
    assert again.get_last_lr() == sched.get_last_lr() == [0.05]
