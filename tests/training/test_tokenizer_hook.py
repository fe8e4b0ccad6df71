"""The data module gets its tokenizer (and the model's limits) explicitly, never from the trainer."""

from __future__ import annotations

import pytest

from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.errors import ConfigError
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import module_kwargs, quiet_trainer, write_cli_config


def test_the_model_encoder_gives_tokenizer_and_limits_without_a_trainer(triplet_file):
    module = RewardModelModule(**module_kwargs(max_prompt_tokens=8, max_answer_tokens=6))
    data = RewardDataModule(
        train=[DataSource(str(triplet_file))], val_fraction=0.0, batch_size=4, encoder=module.encoder
    )
    assert data.trainer is None
    batch = next(iter(data.train_dataloader()))
    assert batch["input_ids"].shape[0] > 0
    stats = data.truncation["train"]
    # the model's limits (8 prompt / 6 answer tokens) applied, since the data module sets none
    assert stats["prompts_truncated"] == stats["answers_truncated"] == stats["examples"]
    # the data module's own limits still win where set
    own = RewardDataModule(
        train=[DataSource(str(triplet_file))], val_fraction=0.0, max_answer_tokens=512, encoder=module.encoder
    )
    own.train_dataloader()
    assert own.truncation["train"]["answers_truncated"] == 0


def test_a_trainer_does_not_hand_over_the_tokenizer(triplet_file, tmp_path):
    module = RewardModelModule(**module_kwargs())
    data = RewardDataModule(train=[DataSource(str(triplet_file))], val_fraction=0.0, batch_size=4)
    trainer = quiet_trainer(tmp_path, max_steps=1)
    with pytest.raises(ConfigError, match="has no tokenizer: pass encoder="):
        trainer.fit(module, data)


def test_a_lazily_built_module_has_its_encoder_before_the_backbone(qwen_tokenizer):
    module = RewardModelModule(**module_kwargs(lazy_build=True, max_prompt_tokens=40, max_answer_tokens=30))
    assert module.reward_model is None
    encoder = module.encoder
    assert module.reward_model is None  # the tokenizer loaded on its own; no weights yet
    assert (encoder.max_prompt_tokens, encoder.max_answer_tokens) == (40, 30)
    assert encoder.tokenizer.get_vocab() == qwen_tokenizer.get_vocab()
    module.configure_model()
    assert module.encoder is module.reward_model.encoder


def test_the_fit_cli_links_the_model_encoder_to_the_data_module(tmp_path, triplet_file):
    from mrrml.cli.train import build_cli

    config = write_cli_config(tmp_path / "fit.yaml", triplet_file, tmp_path / "run")
    cli = build_cli(["-c", str(config)], run=False)
    assert cli.datamodule._reference() is cli.model.reward_model.encoder
    with pytest.raises(SystemExit):  # a link target, not an option a command line could set
        build_cli(["-c", str(config), "--data.encoder", "x"], run=False)
