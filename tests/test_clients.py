"""ScheduledLR driven by real training frameworks: PyTorch Lightning (interval "step") and the
Hugging Face Trainer (optimizers=(opt, sched)), including resume from their checkpoints with the LR
continuing exactly. Both frameworks are test-only dependencies."""
from __future__ import annotations

import os
import warnings

import pytest
import torch

import lrlib

SCHEDULE = lrlib.Warmup(lrlib.Cosine(20, 0.1), 4)
BASE_LR = 0.05


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return x, (x.sum(1, keepdim=True) > 0).float()


# ----------------------------------------------------------------------------- Lightning
pl = pytest.importorskip("lightning.pytorch")


class _LitModel(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
        self.seen: list[float] = []

    def training_step(self, batch, _):
        self.seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        x, y = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(self.net(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=BASE_LR, momentum=0.9)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": lrlib.ScheduledLR(opt, SCHEDULE), "interval": "step"}}


def _loader():
    x, y = _data()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)


def _trainer(tmp_path, steps, **kw):
    return pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=str(tmp_path), **kw)


def test_lightning_steps_the_schedule_and_resumes_exactly(tmp_path):
    want = [BASE_LR * SCHEDULE(t) for t in range(24)]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers|LeafSpec|TPU|GPU).*")
        full = _LitModel()
        _trainer(tmp_path / "full", 24).fit(full, _loader())
        assert full.seen == pytest.approx(want, rel=1e-12)

        first = _LitModel()
        t1 = _trainer(tmp_path / "a", 10)
        t1.fit(first, _loader())
        ckpt = tmp_path / "at10.ckpt"
        t1.save_checkpoint(ckpt)
        resumed = _LitModel()
        _trainer(tmp_path / "b", 24).fit(resumed, _loader(), ckpt_path=str(ckpt))
    assert first.seen == pytest.approx(want[:10], rel=1e-12)
    assert resumed.seen == pytest.approx(want[10:], rel=1e-12)
    ck = torch.load(ckpt, weights_only=True)  # the scheduler state is plain data
    assert ck["lr_schedulers"][0]["last_epoch"] == 10


# ----------------------------------------------------------------------------- Hugging Face Trainer
transformers = pytest.importorskip("transformers")


class _HFModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 1)

    def forward(self, x, labels=None):
        out = self.net(x)
        return {"loss": torch.nn.functional.binary_cross_entropy_with_logits(out, labels), "logits": out}


class _DS(torch.utils.data.Dataset):
    def __init__(self):
        self.x, self.y = _data()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


class _Record(transformers.TrainerCallback):
    def __init__(self):
        self.lrs: list[float] = []
        self.opt = None

    def on_step_begin(self, args, state, control, optimizer=None, **kw):
        self.lrs.append(optimizer.param_groups[0]["lr"])


def _hf_trainer(out, steps, save_steps=None, seed=0):
    torch.manual_seed(seed)
    model = _HFModel()
    opt = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
    sched = lrlib.ScheduledLR(opt, SCHEDULE)
    rec = _Record()
    args = transformers.TrainingArguments(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=8, report_to=[], use_cpu=True,
        save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500, logging_strategy="no",
        disable_tqdm=True, dataloader_num_workers=0, seed=seed)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_DS(), optimizers=(opt, sched),
                                   callbacks=[rec])
    return trainer, rec


def test_hf_trainer_steps_the_schedule_and_resumes_exactly(tmp_path):
    os.environ.setdefault("WANDB_DISABLED", "true")
    want = [BASE_LR * SCHEDULE(t) for t in range(24)]
    trainer, rec = _hf_trainer(tmp_path / "run", 24, save_steps=10)
    trainer.train()
    assert rec.lrs == pytest.approx(want, rel=1e-12)
    ckpt = tmp_path / "run" / "checkpoint-10"
    assert (ckpt / "scheduler.pt").exists()
    resumed, rec2 = _hf_trainer(tmp_path / "run2", 24)
    resumed.train(resume_from_checkpoint=str(ckpt))
    assert rec2.lrs == pytest.approx(want[10:], rel=1e-12)


class _LitPlateau(_LitModel):
    def training_step(self, batch, i):
        loss = super().training_step(batch, i)
        self.log("plateau_metric", torch.tensor(1.0))  # never improves: a cut after every patience+1 epochs
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=BASE_LR, momentum=0.9)
        sched = lrlib.PlateauLR(opt, lrlib.Plateau(patience=0, gamma=0.5))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "plateau_metric"}}


def test_lightning_drives_plateau_lr_with_a_monitor(tmp_path):
    model = _LitPlateau()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers|LeafSpec|TPU|GPU).*")
        _trainer(tmp_path, 8 * 3).fit(model, _loader())  # 3 epochs of 8 batches
    # epoch 1 sets the best; epoch 2 is bad (patience 0): the cut shows from the first batch of epoch 3
    assert model.seen[:8] == [BASE_LR] * 8
    assert model.seen[8:16] == [BASE_LR] * 8
    assert model.seen[16:] == pytest.approx([BASE_LR / 2] * 8)
