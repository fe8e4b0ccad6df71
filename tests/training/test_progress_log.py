"""Plain progress lines (``ProgressLog``) for runs whose output goes to a file: a real Lightning fit on the
very small random Qwen3, the lines read from Lightning's own logger."""

from __future__ import annotations

import logging

import lightning.pytorch as pl
import pytest

from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.training.callbacks import ProgressLog
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import ProgressLines, make_triplets, module_kwargs, quiet_trainer, write_jsonl


@pytest.fixture
def lines():
    handler, lightning_logger = ProgressLines(), logging.getLogger("lightning.pytorch")
    level = lightning_logger.level
    lightning_logger.setLevel(logging.INFO)
    lightning_logger.addHandler(handler)
    yield lambda: list(handler.messages)
    lightning_logger.removeHandler(handler)
    lightning_logger.setLevel(level)


def fit(tmp_path, progress: ProgressLog) -> None:
    pl.seed_everything(0)
    module = RewardModelModule(**module_kwargs())
    data = RewardDataModule(
        train=[DataSource(str(write_jsonl(tmp_path / "train.jsonl", make_triplets(12))))],
        batch_size=4,
        val_fraction=0.0,
        seed=0,
        encoder=module.encoder,
    )
    trainer = quiet_trainer(tmp_path, max_epochs=2, limit_val_batches=0, callbacks=[progress])
    trainer.fit(module, data)


def test_a_line_per_step_and_per_epoch_with_position_time_left_and_loss(tmp_path, lines):
    fit(tmp_path, ProgressLog(every_s=0, when="always"))
    got = lines()
    assert got[0].startswith("mrrml train: epoch 1/2, step 1/3 (33 %), 0m") and "left; loss " in got[0]
    assert got[2].startswith("mrrml train: epoch 1/2, step 3/3 (100 %)") and "~0m00s left" in got[2]
    assert got[3].startswith("mrrml train: epoch 1/2 done in ") and "; loss " in got[3]
    assert got[-1].startswith("mrrml train: epoch 2/2 done in ")
    assert len(got) == 8  # 3 steps and the epoch's end, twice


def test_lines_are_rate_limited_and_can_be_switched_off(tmp_path, lines):
    fit(tmp_path / "slow", ProgressLog(every_s=3600, when="always"))
    assert [line.split(" done")[0] for line in lines()] == ["mrrml train: epoch 1/2", "mrrml train: epoch 2/2"]
    before = len(lines())
    fit(tmp_path / "never", ProgressLog(every_s=0, when="never"))
    assert len(lines()) == before


def test_bad_settings_name_the_option():
    with pytest.raises(ValueError, match=r"progress\.every_s"):
        ProgressLog(every_s=-1)
    with pytest.raises(ValueError, match=r"progress\.when"):
        ProgressLog(when="sometimes")
