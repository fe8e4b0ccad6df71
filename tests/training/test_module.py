"""The LightningModule: every loss term on mixed data, metrics, schedule, normalisation, the exported model."""

from __future__ import annotations

import itertools
import math

import lightning.pytorch as pl
import pytest
import torch

import mrrml
from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.training.callbacks import ModelDirExport
from mrrml.training.metrics import TripletMetrics
from mrrml.training.module import RewardModelModule, warmup_cosine
from tests.training.training_helpers import module_kwargs, quiet_trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mixed_files):
    """One short fit on triplets (with neutral rewrites), pairs (one-dimension and overall) and rated records."""
    root = tmp_path_factory.mktemp("fit")
    pl.seed_everything(0)
    module = RewardModelModule(**module_kwargs())
    datamodule = RewardDataModule(
        train=[DataSource(str(p)) for p in mixed_files.values()],
        val_fraction=0.25,
        batch_size=6,
        seed=0,
        encoder=module.encoder,
    )
    trainer = quiet_trainer(
        root, max_steps=4, callbacks=[ModelDirExport(final_dir=str(root / "model"))], log_every_n_steps=1
    )
    trainer.fit(module, datamodule)
    return module, datamodule, trainer, root / "model"


def test_mixed_kinds_train_with_every_term_logged(trained):
    module, _datamodule, trainer, _ = trained
    logged = trainer.logged_metrics
    for term in ("rank", "axis", "perp", "ortho", "neutral", "center", "gprc", "overall", "rated", "loss"):
        assert f"train/{term}" in logged and math.isfinite(float(logged[f"train/{term}"])), term
    assert len(module.history) == 4 and module.history[-1]["step"] == 3
    # validation metrics per dimension, and normalisation statistics from the final weights
    assert "val/order_acc/mean" in module.last_val_metrics
    assert "val/pairwise_acc/accuracy" in module.last_val_metrics
    std = module.reward_model.norm_std
    assert torch.isfinite(std).all() and not torch.allclose(std, torch.ones_like(std))


def test_exported_model_dir_scores_like_the_trained_module(trained):
    module, datamodule, _, model_dir = trained
    assert not [p for p in model_dir.rglob("*") if p.suffix in (".ckpt", ".pt", ".pth", ".bin", ".pkl")]
    loaded = mrrml.load(model_dir)
    records = [r for r in datamodule.records("train") if hasattr(r, "good")][:4]
    prompts, answers = [r.prompt for r in records], [r.good for r in records]
    ours = module.reward_model.score(prompts, answers)
    theirs = loaded.score(prompts, answers)
    assert torch.allclose(ours.raw, theirs.raw, atol=1e-5)
    assert torch.allclose(loaded.norm_mean, module.reward_model.norm_mean)


def test_compiled_loss_gives_the_eager_gradients(qwen_tokenizer, triplet_file):
    """compile_loss=True (the default) goes through torch.compile; same loss and gradients as eager."""
    pl.seed_everything(0)
    module = RewardModelModule(**module_kwargs())
    datamodule = RewardDataModule(train=[DataSource(str(triplet_file))], val_fraction=0.0, batch_size=6)
    datamodule.set_tokenizer(qwen_tokenizer)
    batch = next(iter(datamodule.train_dataloader()))
    results = []
    for compiled in (False, True):
        module.compile_loss = compiled
        module.zero_grad(set_to_none=True)
        loss, _, _ = module.losses(batch)
        loss.backward()
        grads = [p.grad.clone() for p in (module.reward_model.heads.weight, module.reward_model.heads.bias)]
        results.append((loss.detach(), grads))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-5)
    for eager_grad, compiled_grad in zip(results[0][1], results[1][1]):
        assert torch.allclose(eager_grad, compiled_grad, atol=1e-5, rtol=1e-4)


def test_quantised_backbone_forces_eager_loss():
    from mrrml.model.backbone import BackboneConfig

    kwargs = module_kwargs(
        backbone=BackboneConfig("builtin:tiny-qwen3", quantization="4bit"), compile_loss=True, lazy_build=True
    )
    assert RewardModelModule(**kwargs).compile_loss is False


def test_warmup_then_cosine():
    total, warmup = 100, 10
    values = [warmup_cosine(s, total, warmup, 0.1) for s in range(total + 1)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(a <= b for a, b in itertools.pairwise(values[:10]))
    assert all(a >= b for a, b in itertools.pairwise(values[10:]))
    assert values[-1] == pytest.approx(0.1)


def test_triplet_metrics_per_dimension():
    metrics = TripletMetrics(["a", "b"])
    # dimension a: one correct triplet and one with medium above good; dimension b: a correct pair
    good = torch.tensor([[3.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    medium = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    poor = torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    metrics.update(good, medium, poor, torch.tensor([0, 0, 1]), torch.tensor([True, True, False]))
    out = metrics.compute()
    assert out["order_acc/a"] == pytest.approx(0.5) and out["betweenness/a"] == pytest.approx(0.5)
    assert out["pairwise_acc/a"] == pytest.approx(5 / 6) and out["pairwise_acc/b"] == pytest.approx(1.0)
    assert torch.isnan(out["order_acc/b"])  # no triplet with a medium answer on b
    # leakage of a: other head moved |0-1| + 0 over own gaps 2 + 1
    assert out["leakage/a"] == pytest.approx((1 + 0) / (2 + 1))
