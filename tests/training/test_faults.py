"""Checkpoints and faults: a run killed mid-epoch resumes to the same weights; a NaN loss stops cleanly."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.errors import TrainingError
from mrrml.training.callbacks import ModelDirExport
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import module_kwargs


class Crash(RuntimeError):
    """Stands for the process dying (power loss, OOM kill) at a given step."""


class CrashAtStep(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            raise Crash(f"killed at step {self.step}")


def _fit(root: Path, data: Path, max_steps: int, callbacks=(), ckpt_path=None) -> RewardModelModule:
    pl.seed_everything(0)
    module = RewardModelModule(**module_kwargs())
    datamodule = RewardDataModule(
        train=[DataSource(str(data))], val_fraction=0.0, batch_size=4, seed=0, encoder=module.encoder
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        limit_val_batches=0,
        callbacks=list(callbacks),
    )
    trainer.fit(module, datamodule, ckpt_path=ckpt_path)
    return module


def _state(module: RewardModelModule) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.reward_model.state_dict().items()}


def test_killed_mid_epoch_resumes_to_the_same_weights(tmp_path, triplet_file):
    # 40 records / batch 4 = 10 steps per epoch; crash at step 5 (mid-epoch 0) after a checkpoint at step 4,
    # then train on to step 12 (into epoch 1) — the reference runs 12 steps without interruption.
    reference = _state(_fit(tmp_path / "ref", triplet_file, 12))

    ckpt_dir = tmp_path / "run" / "ckpt"
    every_4 = ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=4, save_last=True, save_top_k=1)
    with pytest.raises(Crash):
        _fit(tmp_path / "run", triplet_file, 12, callbacks=[every_4, ModelDirExport(), CrashAtStep(5)])
    last = ckpt_dir / "last.ckpt"
    assert last.exists()
    # default torch.load(weights_only=True) must accept the checkpoint: no pickled objects in it
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 4
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]["consumed"] == 4
    # the mrrml model directory sits next to the checkpoints, pickle-free
    model_dir = ckpt_dir / "model"
    assert (model_dir / "heads.safetensors").exists()
    assert not [p for p in model_dir.rglob("*") if p.suffix in (".ckpt", ".pt", ".pth", ".bin", ".pkl")]

    resumed = _state(_fit(tmp_path / "run", triplet_file, 12, ckpt_path=str(last)))
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert torch.allclose(resumed[key], reference[key], atol=1e-6), key


class PoisonAtStep(Callback):
    """Corrupts one head weight with NaN before step ``step``, as a diverging run would."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            with torch.no_grad():
                pl_module.reward_model.heads.weight[0, 0] = float("nan")


def test_nan_loss_stops_with_step_and_batch_and_writes_no_checkpoint(tmp_path, triplet_file):
    ckpt_dir = tmp_path / "ckpt"
    every_step = ModelCheckpoint(
        dirpath=ckpt_dir, every_n_train_steps=1, save_top_k=-1, save_last=True, filename="{step}"
    )
    with pytest.raises(TrainingError) as error:
        _fit(tmp_path, triplet_file, 10, callbacks=[every_step, PoisonAtStep(3)])
    message = str(error.value)
    assert "global step 3" in message and "non-finite loss" in message
    assert "records of the batch" in message and "'t0-" in message  # the ids of the batch's records
    steps = sorted(int(p.stem.split("=")[1]) for p in ckpt_dir.glob("step=*.ckpt"))
    assert steps == [1, 2, 3]  # checkpoints after steps 1..3 (global_step 3 = three finished steps), none after
    assert torch.load(ckpt_dir / "last.ckpt", weights_only=True)["global_step"] == 3
