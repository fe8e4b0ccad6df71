"""Training on a CUDA GPU (skipped without one; ``benchmarks/gpu_check.sh`` runs them): one bf16-mixed
step, the FSDP2 recipes on one GPU (NCCL, world size 1), and the FSDP1 refusal.

The CPU tests cover the same code over gloo; these add what only a GPU has: CUDA autocast, NCCL, the
bitsandbytes CUDA kernels and the per-rank device choice landing on ``cuda:0``.
"""

from __future__ import annotations

import importlib.util

import lightning.pytorch as pl
import pytest

import mrrml
from mrrml.errors import ConfigError
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import TINY, module_kwargs, probe_arg, run_recipe, write_cli_config

pytestmark = pytest.mark.cuda
CLIP = 0.05


def _check_training_state(probe: dict, clip: float) -> None:
    assert probe["root_device"] == "cuda:0"
    assert probe["trainable_dtypes"] == ["float32"] and probe["heads_dtype"] == "float32"
    assert probe["optimizer_state_dtypes"] == ["float32"]
    assert probe["buffer_dtypes"] == {"norm_mean": "float32", "norm_std": "float32"}
    assert probe["post_clip"] and max(probe["post_clip"]) <= clip * (1 + 1e-4)


def test_bf16_mixed_training_step_on_gpu(tmp_path, triplet_file):
    from mrrml.cli.train import run as train_run

    backbone = {"name_or_path": "builtin:tiny-qwen3", "tiny": dict(TINY), "dtype": "bfloat16", "lora": {"r": 4}}
    config = write_cli_config(
        tmp_path / "gpu.yaml",
        triplet_file,
        tmp_path / "run",
        model={"backbone": backbone},
        accelerator="gpu",
        max_steps=2,
        gradient_clip_val=CLIP,
        precision="bf16-mixed",
    )
    assert train_run(["fit", "-c", str(config), probe_arg(tmp_path / "probe")]) == 0
    from tests.training.probes import read_probes

    (probe,) = read_probes(tmp_path / "probe", 1)
    _check_training_state(probe, CLIP)
    scores = mrrml.load(tmp_path / "run" / "model", device="cuda").score(["Is rest enough?"], ["Usually, yes."])
    assert bool(scores.raw.isfinite().all())


@pytest.mark.parametrize("name", ["qwen3-32b-fsdp", "qwen3-32b-qlora-fsdp"])
def test_fsdp2_recipe_on_one_gpu(name, recipe_data, tmp_path):
    if "qlora" in name and importlib.util.find_spec("bitsandbytes") is None:
        pytest.skip("bitsandbytes is not installed on this GPU machine")
    (probe,), model_dir = run_recipe(name, recipe_data, tmp_path, devices=1, accelerator="gpu")
    _check_training_state(probe, clip=1.0)
    assert probe["trainable_sharded"] == [True]
    if "qlora" in name:
        assert probe["quantized_devices"] == ["cuda:0"] and probe["quantized_storage"] == ["bfloat16"]
    else:
        assert probe["init_max_diff"] == 0.0
    model = mrrml.load(model_dir)
    assert bool(model.score(["Is rest enough?"], ["Usually, yes."]).raw.isfinite().all())


def test_fsdp1_strategy_is_refused(tmp_path, triplet_file):
    from lightning.pytorch.strategies import FSDPStrategy

    from mrrml.data.datamodule import DataSource, RewardDataModule

    trainer = pl.Trainer(
        accelerator="gpu", devices=1, strategy=FSDPStrategy(), max_steps=1, logger=False, default_root_dir=tmp_path
    )
    module = RewardModelModule(**module_kwargs(lazy_build=True))
    data = RewardDataModule(
        train=[DataSource(path=str(triplet_file))], val_fraction=0.0, batch_size=4, encoder=module.encoder
    )
    with pytest.raises(ConfigError, match="FSDP2Strategy"):
        trainer.fit(module, datamodule=data)
