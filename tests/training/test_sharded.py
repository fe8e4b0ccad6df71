"""FSDP2 on CPU processes (gloo) against one process, and the pieces of the sharded path on their own.

The two-process run shards the tiny model, builds it on the meta device with the weights broadcast
from rank 0, clips by the global gradient norm, computes the normalisation statistics through the
sharded module, exports a model directory at a checkpoint and at the end of fit; the single process
runs the same steps unsharded. They must end with the same weights, statistics and scores.
"""

from __future__ import annotations

import json

import pytest
import torch

import mrrml
from mrrml.errors import ConfigError
from mrrml.model.backbone import BackboneConfig, LoraSettings, load_backbone, local_device, quantization_config
from mrrml.model.heads import RewardHeads
from tests.training.probes import checkpointing_enabled, read_probes
from tests.training.test_distributed import _weights
from tests.training.training_helpers import TINY, probe_arg, run_mrrml, write_cli_config

CLIP = 0.05  # far below the tiny model's gradient norms: every step is clipped
SHARDED = {"class_path": "mrrml.training.sharding.FSDP2Strategy"}
CHECKPOINT_EVERY_2 = [
    {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"every_n_train_steps": 2}}
]


@pytest.mark.slow
def test_fsdp_two_processes_match_one_process(tmp_path, triplet_file):
    """Weights, statistics and scores of a 2-rank FSDP2 run (batch 4 each) equal one process's (batch 8)."""
    from mrrml.cli.train import run as train_run

    common = dict(
        model={"lazy_build": True},
        data={"val_fraction": 0.25},  # held out: the statistics at train end run over it
        max_steps=3,
        gradient_clip_val=CLIP,
        precision="32-true",
    )
    single_cfg = write_cli_config(tmp_path / "single.yaml", triplet_file, tmp_path / "single", **common)
    assert train_run(["fit", "-c", str(single_cfg), "--data.batch_size", "8", probe_arg(tmp_path / "p1")]) == 0

    fsdp_cfg = write_cli_config(
        tmp_path / "fsdp.yaml",
        triplet_file,
        tmp_path / "fsdp",
        devices=2,
        strategy=SHARDED,
        enable_checkpointing=True,
        callbacks=CHECKPOINT_EVERY_2,
        **common,
    )
    args = ["fit", "-c", str(fsdp_cfg), "--data.batch_size", "4", "--export.with_checkpoints", "true"]
    run_mrrml([*args, probe_arg(tmp_path / "p2")], cwd=tmp_path)

    (single,) = read_probes(tmp_path / "p1", 1)
    sharded = read_probes(tmp_path / "p2", 2)
    for probe in sharded:
        assert probe["trainable_sharded"] == [True]
        assert probe["init_max_diff"] in (0.0, None)  # None on rank 1: rank 0 compares the gathered weights
        # the same global norm as one process, and clipped to the limit at every step
        assert probe["pre_clip"] == pytest.approx(single["pre_clip"], rel=1e-4)
        assert min(probe["pre_clip"]) > CLIP and max(probe["post_clip"]) <= CLIP * (1 + 1e-4)
    assert sharded[0]["init_max_diff"] == 0.0  # meta build + broadcast == the checkpoint on disk

    one, two = _weights(tmp_path / "single" / "model"), _weights(tmp_path / "fsdp" / "model")
    assert one.keys() == two.keys() and len(one) > 2
    for key in one:
        assert torch.allclose(one[key], two[key], atol=2e-4, rtol=1e-3), (key, (one[key] - two[key]).abs().max())
    stats = [json.loads((tmp_path / run / "model" / "normalization.json").read_text()) for run in ("single", "fsdp")]
    for dim, values in stats[0].items():
        assert values == pytest.approx(stats[1][dim], rel=1e-3, abs=1e-4)
    assert stats[0] != {d: {"mean": 0.0, "std": 1.0} for d in stats[0]}  # statistics were computed

    prompts, answers = ["What helps a tension headache?"] * 2, ["Rest, water and a dark room.", "Nothing."]
    scores = [mrrml.load(tmp_path / run / "model").score(prompts, answers).reward for run in ("single", "fsdp")]
    assert torch.allclose(scores[0], scores[1], atol=1e-3)
    # the export at a checkpoint (every rank gathers, rank 0 writes) loads as well
    checkpoint_models = list((tmp_path / "fsdp").rglob("checkpoints/model"))
    assert len(checkpoint_models) == 1 and sorted(mrrml.load(checkpoint_models[0]).dimensions) == sorted(stats[0])


def test_bf16_mixed_trains_fp32_state_and_clips(tmp_path, triplet_file):
    """bf16-mixed on a real Trainer: adapters, heads, AdamW moments and statistics stay fp32 over a
    bf16 base, and clipping by norm works with the fused optimizer (no gradient scaler in bf16)."""
    from mrrml.cli.train import run as train_run

    config = write_cli_config(
        tmp_path / "bf16.yaml",
        triplet_file,
        tmp_path / "run",
        model={
            "backbone": {
                "name_or_path": "builtin:tiny-qwen3",
                "tiny": dict(TINY),
                "dtype": "bfloat16",
                "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
            }
        },
        max_steps=2,
        gradient_clip_val=CLIP,
        precision="bf16-mixed",
    )
    assert train_run(["fit", "-c", str(config), probe_arg(tmp_path / "probe")]) == 0
    (probe,) = read_probes(tmp_path / "probe", 1)
    assert probe["trainable_dtypes"] == ["float32"] and probe["optimizer_state_dtypes"] == ["float32"]
    assert probe["buffer_dtypes"] == {"norm_mean": "float32", "norm_std": "float32"}
    assert min(probe["pre_clip"]) > CLIP and max(probe["post_clip"]) <= CLIP * (1 + 1e-4)


def test_heads_compute_in_fp32_under_autocast():
    torch.manual_seed(0)
    heads = RewardHeads(5, 64, projection_dim=16)
    hidden = torch.randn(3, 64)
    expected = heads(heads.project(hidden))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = heads.project(hidden)
        scores = heads(z)
    assert z.dtype == scores.dtype == torch.float32
    assert torch.equal(scores, expected)


def test_quantization_config_packs_4bit_in_the_compute_dtype_when_sharded():
    cfg = BackboneConfig("builtin:tiny-qwen3", dtype="bfloat16", quantization="4bit")
    assert quantization_config(cfg, sharded=True).bnb_4bit_quant_storage == torch.bfloat16
    assert quantization_config(cfg).bnb_4bit_quant_storage == torch.uint8  # one GPU: the compact default
    with pytest.raises(ConfigError, match="8bit"):
        quantization_config(BackboneConfig("builtin:tiny-qwen3", quantization="8bit"), sharded=True)


def test_local_device_is_this_ranks_gpu():
    assert local_device({"LOCAL_RANK": "3"}, cuda=True) == torch.device("cuda", 3)
    assert local_device({"SLURM_LOCALID": "5"}, cuda=True) == torch.device("cuda", 5)
    assert local_device({"LOCAL_RANK": "2", "SLURM_LOCALID": "5"}, cuda=True) == torch.device("cuda", 2)
    assert local_device({}, cuda=True) == torch.device("cuda", 0)
    assert local_device({"LOCAL_RANK": "3"}, cuda=False) == torch.device("cpu")


def test_empty_backbone_has_meta_weights_and_real_buffers():
    """The layout a sharded rank builds without reading weights: same names and shapes as a loaded
    backbone (LoRA included), every parameter on the meta device, the rotary buffers computed."""
    cfg = BackboneConfig("builtin:tiny-qwen3", tiny=dict(TINY), gradient_checkpointing=True, lora=LoraSettings(r=4))
    loaded, _ = load_backbone(cfg)
    empty, _ = load_backbone(cfg, empty=True)
    assert {k: v.shape for k, v in empty.state_dict().items()} == {k: v.shape for k, v in loaded.state_dict().items()}
    assert all(p.is_meta for p in empty.parameters())
    assert [n for n, p in empty.named_parameters() if p.requires_grad] == [
        n for n, p in loaded.named_parameters() if p.requires_grad
    ]
    buffers = dict(loaded.named_buffers())
    for name, buffer in empty.named_buffers():
        assert not buffer.is_meta and torch.equal(buffer, buffers[name]), name
    assert checkpointing_enabled(empty.get_base_model())
