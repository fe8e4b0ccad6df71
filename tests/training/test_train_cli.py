"""`mrrml fit|validate|test|predict` through LightningCLI: every shipped config parses, --print_config round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonargparse import Namespace

from mrrml.cli.train import MrrmlCLI
from mrrml.cli.train import run as train_run
from mrrml.data.datamodule import RewardDataModule
from mrrml.training.module import RewardModelModule

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


class ParseOnly(MrrmlCLI):
    """Parse and validate a config against every signature without building models (no weights here)."""

    def instantiate_classes(self) -> None:
        return None


def _parse(args: list[str]) -> ParseOnly:
    return ParseOnly(RewardModelModule, RewardDataModule, args=args, run=False, auto_configure_optimizers=False)


def test_all_five_configs_ship():
    assert {p.name for p in CONFIGS} >= {
        "tiny-cpu.yaml",
        "smollm2-135m-lora.yaml",
        "qwen3-0.6b-lora.yaml",
        "qwen3-8b-qlora.yaml",
        "qwen3-32b-fsdp.yaml",
        "qwen3-32b-qlora-fsdp.yaml",
    }


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_and_dump_round_trips(config, tmp_path):
    cli = _parse(["-c", str(config)])
    assert cli.config.model.matrix == cli.config.data.matrix  # linked
    dumped = tmp_path / "dumped.yaml"
    dumped.write_text(cli.parser.dump(cli.config))
    again = _parse(["-c", str(dumped)])
    first, second = cli.config.clone(), again.config.clone()
    del first["config"], second["config"]  # the file names differ, nothing else may
    assert second == first
    # every config starts with a comment saying what it is for
    assert config.read_text().startswith("# ")


@pytest.mark.parametrize("name", ["qwen3-32b-fsdp", "qwen3-32b-qlora-fsdp"])
def test_sharded_configs_build_their_strategy(name):
    """The sharded configs name FSDP2Strategy and leave the node count at its one-node default (the run
    itself is in test_gpu_configs.py); it instantiates without GPUs."""
    from mrrml.training.sharding import FSDP2Strategy

    cli = _parse(["-c", str(next(p for p in CONFIGS if p.stem == name))])
    spec = cli.config.trainer.strategy
    assert spec.class_path == "mrrml.training.sharding.FSDP2Strategy"
    init = spec.init_args.as_dict() if isinstance(spec.init_args, Namespace) else dict(spec.init_args)
    assert isinstance(FSDP2Strategy(**init), FSDP2Strategy)
    assert cli.config.trainer.num_nodes == 1 and cli.config.model.lazy_build


def test_qlora_config_is_quantised_and_eager():
    cli = _parse(["-c", str(next(p for p in CONFIGS if p.stem == "qwen3-8b-qlora"))])
    assert cli.config.model.backbone.quantization == "4bit"
    assert cli.config.model.compile_loss is False


def test_print_config_round_trip_through_the_command(tmp_path, capsys):
    tiny = next(p for p in CONFIGS if p.stem == "tiny-cpu")
    assert train_run(["fit", "-c", str(tiny), "--print_config"]) == 0
    printed = capsys.readouterr().out
    data = yaml.safe_load(printed)
    assert data["model"]["backbone"]["name_or_path"] == "builtin:tiny-qwen3"
    (tmp_path / "printed.yaml").write_text(printed)
    assert train_run(["fit", "-c", str(tmp_path / "printed.yaml"), "--print_config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == data


def test_help_comes_from_docstrings(capsys):
    assert train_run(["fit", "--help"]) == 0
    text = capsys.readouterr().out
    # argument descriptions of RewardModelModule and RewardDataModule (their docstrings' Args sections)
    assert "score ``f(h[answer]) - f(h[prompt])``" in text or "f(h[answer]) - f(h[prompt])" in text
    assert "how much of the file one epoch draws" in text or "records per step per process" in text


def test_bad_option_is_a_clean_error(capsys):
    assert train_run(["fit", "--model.no_such_option", "1"]) != 0
    assert train_run(["frobnicate"]) == 2


def test_predict_writes_scores_per_answer(tmp_path, triplet_file):
    from tests.training.training_helpers import write_cli_config

    config = write_cli_config(tmp_path / "predict.yaml", triplet_file, tmp_path / "run")
    output = tmp_path / "predictions.jsonl"
    assert (
        train_run(
            [
                "predict",
                "-c",
                str(config),
                "--data.predict",
                f"[{{path: {triplet_file}}}]",
                "--predictions.output",
                str(output),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 120  # 40 triplets x (good, medium, poor)
    assert {r["role"] for r in rows} == {"good", "medium", "poor"}
    assert set(rows[0]["scores"]) == {
        "accuracy",
        "completeness",
        "communication_quality",
        "context_awareness",
        "instruction_following",
    }


def test_fit_config_interpolates(tmp_path, triplet_file):
    """Configs are read in the omegaconf mode: ${...} refers to other values of the same file."""
    from tests.training.training_helpers import write_cli_config

    config = write_cli_config(tmp_path / "fit.yaml", triplet_file, tmp_path / "run", max_steps=2)
    text = yaml.safe_load(config.read_text())
    text["model"]["head_lr"] = "${model.lr}"
    text["export"]["final_dir"] = "${trainer.default_root_dir}/exported-${trainer.max_steps}-steps"
    config.write_text(yaml.safe_dump(text))
    assert train_run(["fit", "-c", str(config)]) == 0
    assert (tmp_path / "run" / "exported-2-steps" / "heads.safetensors").exists()
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["head_lr"] == saved["model"]["lr"] == 1e-3
