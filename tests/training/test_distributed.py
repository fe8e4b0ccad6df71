"""Distributed training on CPU: DDP (gloo, two processes) against one process; DeepSpeed as far as a CPU allows.

FSDP2 is in test_sharded.py (and each sharded config in test_gpu_configs.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from safetensors.torch import load_file

from mrrml.cli.train import run as train_run
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import module_kwargs, write_cli_config

REPO = Path(__file__).resolve().parents[2]


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    weights = {f"heads.{k}": v for k, v in load_file(str(model_dir / "heads.safetensors")).items()}
    for file in sorted((model_dir / "backbone").glob("*.safetensors")):
        weights.update({f"backbone.{k}": v for k, v in load_file(str(file)).items()})
    return weights


def test_ddp_two_processes_match_one_process(tmp_path, triplet_file):
    """Two gloo ranks with batch 4 each take the same steps as one process with batch 8."""
    single = write_cli_config(tmp_path / "single.yaml", triplet_file, tmp_path / "single")
    assert train_run(["fit", "-c", str(single), "--data.batch_size", "8"]) == 0

    ddp = write_cli_config(tmp_path / "ddp.yaml", triplet_file, tmp_path / "ddp", devices=2, strategy="ddp")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mrrml"), "fit", "-c", str(ddp), "--data.batch_size", "4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    one, two = _weights(tmp_path / "single" / "model"), _weights(tmp_path / "ddp" / "model")
    assert one.keys() == two.keys() and len(one) > 2
    for key in one:
        assert torch.allclose(one[key], two[key], atol=2e-4, rtol=1e-3), (key, (one[key] - two[key]).abs().max())

    # Both runs really trained: the heads moved away from their (seeded) initial values.
    pl.seed_everything(0)
    initial = RewardModelModule(**module_kwargs()).reward_model.heads.weight.detach()
    assert not torch.allclose(initial, one["heads.weight"], atol=1e-3)


def test_deepspeed_strategy():
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed (not a dependency of mrrml); the DeepSpeed strategy is not exercised")
    from lightning.pytorch.strategies import DeepSpeedStrategy

    assert DeepSpeedStrategy(stage=2).config["zero_optimization"]["stage"] == 2
