"""Tiny real reward models for the serving tests, built once per session and saved to disk.

Normalisation statistics are set to values far from (0, 1) so that raw and normalised scores
differ and a test that mixes them up fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def _build(
    tiny_qwen3_dir: Path,
    out: Path,
    *,
    anchor: bool = True,
    projection_dim: int | None = None,
    lora: bool = False,
    quantization: str | None = None,
) -> Path:
    from mrrml.model.backbone import BackboneConfig, LoraSettings
    from mrrml.model.reward_model import RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    torch.manual_seed(1)
    config = BackboneConfig(
        name_or_path=str(tiny_qwen3_dir),
        lora=LoraSettings(r=4, alpha=8, dropout=0.0) if lora else None,
        quantization=quantization,
    )
    model = RewardModel.build(
        config, load_matrix(shipped_matrix("healthbench")), projection_dim=projection_dim, anchor=anchor
    )
    with torch.no_grad():
        model.heads.bias.copy_(torch.linspace(-0.5, 0.5, model.heads.num_dimensions))
        if lora:  # peft initialises B to zero (a no-op adapter); make the merge matter
            for name, param in model.backbone.named_parameters():
                if "lora_B" in name:
                    param.normal_(std=0.5)
    d = model.heads.num_dimensions
    model.set_normalization(torch.linspace(-0.3, 0.4, d), torch.linspace(0.5, 2.0, d))
    return model.save_pretrained(out)


@pytest.fixture(scope="session")
def rm_dir(tiny_qwen3_dir, tmp_path_factory) -> Path:
    """Anchored tiny reward model (the default architecture), no LoRA."""
    return _build(tiny_qwen3_dir, tmp_path_factory.mktemp("rm-anchor"))


@pytest.fixture(scope="session")
def reward_model(rm_dir):
    from mrrml.model.reward_model import load

    return load(rm_dir)


@pytest.fixture(scope="session")
def rm_lora_projection_dir(tiny_qwen3_dir, tmp_path_factory) -> Path:
    """Anchored, LoRA adapter with non-zero B, shared projection: the hardest export case."""
    return _build(tiny_qwen3_dir, tmp_path_factory.mktemp("rm-lora-proj"), projection_dim=24, lora=True)


@pytest.fixture(scope="session")
def rm_no_anchor_dir(tiny_qwen3_dir, tmp_path_factory) -> Path:
    """Trained without the prompt anchor (the sequence-classification export case), with LoRA."""
    return _build(tiny_qwen3_dir, tmp_path_factory.mktemp("rm-no-anchor"), anchor=False, projection_dim=16, lora=True)


@pytest.fixture(scope="session")
def rm_qlora_dir(tiny_qwen3_dir, tmp_path_factory) -> Path:
    """Trained as QLoRA: a 4-bit base (bitsandbytes, CPU backend here) under a LoRA adapter with non-zero B."""
    pytest.importorskip("bitsandbytes")
    return _build(tiny_qwen3_dir, tmp_path_factory.mktemp("rm-qlora"), lora=True, quantization="4bit")
