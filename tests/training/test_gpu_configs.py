"""Every shipped GPU config, run: tiny shapes on CPU processes (gloo), its own strategy and precision.

A second config file (``write_tiny_overrides``) swaps the hub model for ``builtin:tiny-qwen3`` and the
data for a few records, runs on the CPU (two processes for the sharded configs) for at most 3 steps,
and keeps everything else of the shipped file: dtype, quantisation, LoRA, checkpointing, strategy,
precision, accumulation, clipping and callbacks. A probe callback (``tests/training/probes.py``)
records what each rank really held; the written model directory must load and score.
"""

from __future__ import annotations

import pytest
import yaml

import mrrml
from tests.training.training_helpers import CONFIGS, run_recipe

SHARDED = {"qwen3-32b-fsdp", "qwen3-32b-qlora-fsdp"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwen3-0.6b-lora", "qwen3-8b-qlora", "qwen3-32b-fsdp", "qwen3-32b-qlora-fsdp"])
def test_gpu_config_runs_with_tiny_shapes(name, recipe_data, tmp_path):
    shipped = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    backbone = shipped["model"]["backbone"]
    probes, model_dir = run_recipe(name, recipe_data, tmp_path, devices=2 if name in SHARDED else 1)

    clip = shipped["trainer"]["gradient_clip_val"]
    for probe in probes:
        # bf16-mixed: what trains, its AdamW moments and the normalisation buffers are fp32
        assert probe["trainable_dtypes"] == ["float32"] and probe["heads_dtype"] == "float32"
        assert shipped["trainer"]["precision"] == "bf16-mixed"
        assert probe["optimizer_state_dtypes"] == ["float32"]
        assert probe["buffer_dtypes"] == {"norm_mean": "float32", "norm_std": "float32"}
        # clipped by the global norm, at every optimizer step
        assert probe["post_clip"] and all(n <= clip * (1 + 1e-4) for n in probe["post_clip"])
        # one activation-checkpointing mechanism: each layer runs twice per micro-batch (forward and
        # the recompute in backward), never three times, and no checkpoint wrapper modules
        runs = 2 if backbone.get("gradient_checkpointing") else 1
        assert probe["gradient_checkpointing"] is bool(backbone.get("gradient_checkpointing"))
        assert probe["checkpoint_wrappers"] == 0
        assert set(probe["layer_calls"]) == {runs * probe["layers"]}
        if name in SHARDED:
            assert probe["trainable_sharded"] == [True]
        if backbone.get("quantization"):
            # 4-bit weights on this rank's own device; stored packed in bf16 where FSDP shards them
            assert probe["quantized_devices"] == [probe["root_device"]]
            assert probe["quantized_storage"] == (["bfloat16"] if name in SHARDED else ["uint8"])
            assert probe["quantized_sharded"] == [name in SHARDED]
    assert [p["rank"] for p in probes] == list(range(len(probes)))
    if name == "qwen3-32b-fsdp":  # meta-device build + broadcast from rank 0 == the checkpoint on disk
        assert probes[0]["init_max_diff"] == 0.0

    model = mrrml.load(model_dir)
    result = model.score(["How do I treat a mild fever?"] * 2, ["Rest and drink fluids.", "No idea."])
    assert result.raw.shape == (2, len(model.dimensions)) and bool(result.raw.isfinite().all())
