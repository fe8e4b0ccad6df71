"""Frozen-backbone training (``freeze_backbone``) with and without the on-disk feature cache.

One module-scoped set of real Lightning fits on the very small random Qwen3 (same seed, same data):
``uncached`` runs the frozen backbone every step through the normal embedding path; ``cold`` fills an
empty cache; ``warm`` trains on the filled cache. The tests compare them, then check the saved model,
and the cache's invalidation and integrity rules directly.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

import mrrml
from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.errors import ConfigError
from mrrml.model.backbone import BackboneConfig, LoraSettings
from mrrml.training.callbacks import ModelDirExport
from mrrml.training.module import RewardModelModule
from tests.training.training_helpers import (
    TINY,
    ProgressLines,
    make_triplets,
    module_kwargs,
    quiet_trainer,
    write_jsonl,
)

PROJECTION = 16


def frozen_kwargs(cache_dir: Path | None, **overrides) -> dict:
    return module_kwargs(
        projection_dim=PROJECTION,
        freeze_backbone=True,
        feature_cache=cache_dir is not None,
        feature_cache_dir=str(cache_dir) if cache_dir else None,
        **overrides,
    )


class BackboneCalls(pl.Callback):
    """Counts the backbone's forward calls and records whether it was in training mode at each."""

    def __init__(self) -> None:
        self.calls = 0
        self.modes: set[bool] = set()

    def setup(self, trainer, pl_module, stage) -> None:
        def hook(module, args, kwargs, output):
            self.calls += 1
            self.modes.add(module.training)

        pl_module.reward_model.backbone.register_forward_hook(hook, with_kwargs=True)


def fit(root: Path, files: dict[str, Path], cache_dir: Path | None) -> dict:
    pl.seed_everything(0)
    module = RewardModelModule(**frozen_kwargs(cache_dir))
    datamodule = RewardDataModule(
        train=[DataSource(str(files["train"]))],
        test=[DataSource(str(files["test"]))],
        val_fraction=0.25,
        batch_size=4,
        seed=0,
        encoder=module.encoder,
    )
    calls = BackboneCalls()
    trainer = quiet_trainer(
        root,
        max_epochs=3,
        check_val_every_n_epoch=2,  # the last epoch is not validated: on_train_end computes the statistics
        callbacks=[ModelDirExport(final_dir=str(root / "model")), calls],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(module, datamodule)
    fit_misses = module._cached_features.misses if module._cached_features else None
    trainer.test(module, datamodule, verbose=False)
    return {
        "module": module,
        "trainer": trainer,
        "datamodule": datamodule,
        "calls": calls,
        "model_dir": root / "model",
        "fit_misses": fit_misses,
        "warnings": [str(warning.message) for warning in caught],
        "heads": {k: v.detach().clone() for k, v in module.reward_model.heads.state_dict().items()},
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("frozen-data")
    return {
        "train": write_jsonl(root / "train.jsonl", make_triplets(24, neutral=True)),
        "test": write_jsonl(root / "test.jsonl", make_triplets(8, seed=5)),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory, files) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("frozen-runs")
    cache = root / "features"
    return {
        "uncached": fit(root / "uncached", files, None),
        "cold": fit(root / "cold", files, cache),
        "warm": fit(root / "warm", files, cache),
        "cache_dir": cache,
    }


def test_cached_and_uncached_training_give_the_same_heads(runs):
    """The uncached run computes z = f(h_e) - f(h_p) on the normal path every step; the cached runs compute
    f(h_e - h_p) from stored features. Same seed, same batches: only float32 reduction order differs (the
    difference of two projections against the projection of a difference, ~1e-7 relative per step), and
    AdamW's normalised steps carry that through 18 steps well below 1e-5."""
    uncached, cold, warm = runs["uncached"]["heads"], runs["cold"]["heads"], runs["warm"]["heads"]
    assert uncached.keys() == cold.keys() == {"weight", "bias", "projection.weight"}
    for name in uncached:
        assert torch.allclose(uncached[name], cold[name], atol=1e-5, rtol=1e-4), name
        # a warm cache returns the very floats the cold run stored: bit for bit the same training
        assert torch.equal(cold[name], warm[name]), name
    modules = [runs[k]["module"] for k in ("uncached", "cold", "warm")]
    for other in modules[1:]:
        model, reference = other.reward_model, modules[0].reward_model
        assert torch.allclose(model.norm_mean, reference.norm_mean, atol=1e-4)
        assert torch.allclose(model.norm_std, reference.norm_std, atol=1e-4)
        assert other.last_test_metrics.keys() == modules[0].last_test_metrics.keys()


def test_training_really_moved_the_heads(runs):
    pl.seed_everything(0)
    initial = RewardModelModule(**frozen_kwargs(None)).reward_model.heads.state_dict()
    for name, value in runs["cold"]["heads"].items():
        assert not torch.allclose(initial[name], value, atol=1e-4), name


def test_a_frozen_fit_does_not_warn_about_its_eval_mode_backbone(runs):
    """Lightning warns about modules in eval mode at the start of training; the frozen backbone is one
    on purpose (and the only one here), so a frozen fit must start without that warning."""
    assert not [text for text in runs["uncached"]["warnings"] if "in eval mode" in text]


def test_a_module_left_in_eval_mode_beside_the_frozen_backbone_still_warns(tmp_path, files):
    """The silencing is exact: a head left in eval mode by mistake changes the count and still warns."""

    class HeadsLeftInEval(pl.Callback):
        def on_fit_start(self, trainer, pl_module) -> None:
            pl_module.reward_model.heads.eval()

    pl.seed_everything(0)
    module = RewardModelModule(**frozen_kwargs(None))
    datamodule = RewardDataModule(train=[DataSource(str(files["train"]))], batch_size=4, seed=0, encoder=module.encoder)
    trainer = quiet_trainer(tmp_path, max_steps=1, callbacks=[HeadsLeftInEval()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(module, datamodule)
    assert [w for w in caught if "in eval mode at the start of training" in str(w.message)]


def test_a_warm_cache_never_runs_the_backbone(runs):
    cold, warm = runs["cold"], runs["warm"]
    assert cold["fit_misses"] > 0 and cold["calls"].calls > 0
    assert warm["fit_misses"] == 0 and warm["module"]._cached_features.misses == 0
    assert warm["calls"].calls == 0  # validation, the normalisation pass and test included
    assert warm["module"]._cached_features.hits > 0
    shards = list(runs["cache_dir"].glob("*/*.safetensors"))
    assert shards and not warm["module"]._cached_features.store.rejected


def test_the_backbone_gets_no_gradient_and_no_optimizer_state(runs):
    module = runs["uncached"]["module"]  # the backbone ran every step here
    model = module.reward_model
    backbone_ids = {id(p) for p in model.backbone.parameters()}
    assert all(not p.requires_grad and p.grad is None for p in model.backbone.parameters())
    optimizer = module.trainer.optimizers[0]
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert optimized == {id(p) for p in model.heads.parameters()}  # projection, W and b: trained
    assert not backbone_ids & {id(p) for p in optimizer.state}
    assert {id(p) for p in optimizer.state} == optimized  # AdamW moments for the projection and heads only
    # eval mode at every forward, and whenever the whole module is switched to training mode
    assert runs["uncached"]["calls"].modes == {False}
    module.train()
    assert module.training and not model.backbone.training and model.heads.training
    pl.seed_everything(0)
    fresh = RewardModelModule(**frozen_kwargs(None)).reward_model.backbone.state_dict()
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(value, fresh[name]), name


def test_normalisation_validation_and_test_metrics_work_on_the_cache(runs):
    module = runs["warm"]["module"]
    assert getattr(module, "_normalized_at_step", None) != module.global_step  # set by on_train_end
    std = module.reward_model.norm_std
    assert torch.isfinite(std).all() and not torch.allclose(std, torch.ones_like(std))
    assert "val/order_acc/mean" in module.last_val_metrics
    assert "test/order_acc/mean" in module.last_test_metrics


def test_the_saved_model_scores_as_training_saw_it(runs):
    """``mrrml.load(dir).score`` (full backbone forward, shared-prompt scoring) against the features path."""
    run = runs["warm"]
    module, features = run["module"], run["module"]._cached_features
    loaded = mrrml.load(run["model_dir"])
    records = run["datamodule"].records("val")[:6]  # validated in full, so every row is in the cache
    prompts = [r.prompt for r in records for _ in (0, 1)]
    answers = [a for r in records for a in (r.good, r.poor)]
    scored = loaded.score(prompts, answers)

    from mrrml.data.encoder import pad_batch

    model = module.reward_model
    batch = pad_batch([model.encoder.encode(p, a) for p, a in zip(prompts, answers)], model.tokenizer.pad_token_id)
    misses = features.misses
    with torch.no_grad():
        raw = model.heads(model.heads.project(features.features(batch)))
    assert features.misses == misses  # the saved encoder settings give the training rows' keys
    assert torch.allclose(scored.raw, raw, atol=1e-5)
    assert torch.allclose(scored.normalized, model.normalize(raw), atol=1e-4)


# -- the cache on its own ------------------------------------------------------------------------------
def build(cache_dir: Path, **backbone) -> tuple:
    from mrrml.model.reward_model import RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix
    from mrrml.training.feature_cache import CachedFeatures

    config = BackboneConfig(**{"name_or_path": "builtin:tiny-qwen3", "tiny": dict(TINY), **backbone})
    model = RewardModel.build(config, load_matrix(shipped_matrix()), projection_dim=PROJECTION, max_answer_tokens=48)
    model.eval()
    return model, CachedFeatures(model, cache_dir)


def batch_of(model, records) -> dict:
    from mrrml.data.batching import collate
    from mrrml.data.datamodule import encode_record

    encoded = [encode_record(r, model.encoder, model.matrix, f"r{i}") for i, r in enumerate(records)]
    return collate(encoded, model.tokenizer.pad_token_id, len(model.dimensions))


def test_a_changed_backbone_misses(tmp_path):
    cache = tmp_path / "features"
    records = make_triplets(4)
    base, base_features = build(cache)
    reference = base_features.features(batch_of(base, records))
    base_features.store.flush()
    for change in ({"tiny": {**TINY, "seed": 1}}, {"attn_implementation": "eager"}):
        other, other_features = build(cache, **change)
        assert other_features.store.fingerprint != base_features.store.fingerprint, change
        values = other_features.features(batch_of(other, records))
        assert other_features.misses == reference.shape[0] and other_features.hits == 0, change
        if "tiny" in change:  # other weights: other features (eager attention computes the same ones)
            assert not torch.allclose(values, reference, atol=1e-3)


def test_new_weights_at_the_same_path_miss(tmp_path, qwen_tokenizer):
    """A retrained checkpoint written over the old one: same path, same config, other weights."""
    from transformers import Qwen3Config, Qwen3Model

    source = tmp_path / "local-backbone"
    qwen_tokenizer.save_pretrained(source)
    config = Qwen3Config(vocab_size=len(qwen_tokenizer), pad_token_id=qwen_tokenizer.pad_token_id, **TINY)
    fingerprints = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        Qwen3Model(config).save_pretrained(source)
        _, features = build(tmp_path / "features", name_or_path=str(source), tiny={})
        fingerprints.append(features.store.fingerprint)
    assert fingerprints[0] != fingerprints[1]


def test_a_changed_record_misses_only_its_rows(tmp_path):
    model, features = build(tmp_path / "features")
    records = make_triplets(4)
    before = features.features(batch_of(model, records))
    records[2].poor = records[2].poor + " Changed."
    after = features.features(batch_of(model, records))
    assert features.misses == before.shape[0] + 1  # first pass: every row; second: the edited answer only
    changed = [i for i in range(before.shape[0]) if not torch.equal(before[i], after[i])]
    assert len(changed) == 1
    # a limit that cuts the answers differently changes what the backbone reads: those rows miss too
    shorter = build(tmp_path / "features")[0]
    shorter.encoder.max_answer_tokens = 8
    misses = features.misses
    features.features(batch_of(shorter, records))
    assert features.misses == misses + before.shape[0]


def test_a_damaged_or_partial_shard_is_not_trusted(tmp_path):
    cache = tmp_path / "features"
    model, features = build(cache)
    batch = batch_of(model, make_triplets(4))
    reference = features.features(batch)
    shard = features.store.flush()
    data = shard.read_bytes()
    rows = reference.shape[0]

    # one flipped bit in the features: the file still parses, only the checksum tells
    damaged = bytearray(data)
    damaged[-3] ^= 0x10
    shard.write_bytes(bytes(damaged))
    # a cut-off copy under a shard name (what a non-atomic writer or a full disk leaves)
    (shard.parent / f"{'0' * 64}.safetensors").write_bytes(data[: len(data) // 2])
    # a killed atomic write: only its temporary file exists
    (shard.parent / f".{shard.name}.abc123.tmp").write_bytes(data[: len(data) // 3])

    _, again = build(cache)
    assert sorted(p.name for p in again.store.rejected) == sorted([shard.name, f"{'0' * 64}.safetensors"])
    assert len(again.store) == 0
    recomputed = again.features(batch)
    assert again.misses == rows
    assert torch.allclose(recomputed, reference, atol=1e-6)  # recomputed, not read from the damaged file


def test_stale_temporaries_are_removed(tmp_path):
    import os

    from mrrml.training.feature_store import STALE_TEMPORARY_SECONDS, FeatureStore

    store = FeatureStore(tmp_path / "features", "f" * 64, 8)
    old, fresh = store.directory / ".x.safetensors.old.tmp", store.directory / ".x.safetensors.new.tmp"
    old.write_bytes(b"torn"), fresh.write_bytes(b"being written")
    long_ago = old.stat().st_mtime - STALE_TEMPORARY_SECONDS - 10
    os.utime(old, (long_ago, long_ago))
    store.refresh()
    assert not old.exists() and fresh.exists()  # a live writer's temporary file is left alone


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path):
    """Two processes (as two DDP ranks) put and flush rows into one store at the same time, half of them
    the same rows; every shard stays valid and a reader sees every row once with its own values."""
    import subprocess
    import sys

    from mrrml.training.feature_store import FeatureStore

    script = """
import sys, torch
from mrrml.training.feature_store import FeatureStore
root, start = sys.argv[1], int(sys.argv[2])
store = FeatureStore(root, "f" * 64, 32)
for chunk in range(start, start + 40, 4):
    keys = [k.to_bytes(16, "little") for k in range(chunk, chunk + 4)]
    store.put(keys, torch.arange(chunk, chunk + 4, dtype=torch.float32)[:, None].expand(4, 32))
    store.flush()
"""
    root = tmp_path / "store"
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(root), str(start)], cwd=Path(__file__).resolve().parents[2])
        for start in (0, 20)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    reader = FeatureStore(root, "f" * 64, 32)
    assert not reader.rejected and len(reader) == 60
    for k in range(60):
        assert torch.equal(reader.get(k.to_bytes(16, "little")), torch.full((32,), float(k)))


# -- configuration --------------------------------------------------------------------------------------
def test_freeze_backbone_needs_a_projection_and_no_lora():
    with pytest.raises(ConfigError, match="projection_dim"):
        RewardModelModule(**module_kwargs(freeze_backbone=True, lazy_build=True))
    lora = BackboneConfig("builtin:tiny-qwen3", tiny=dict(TINY), lora=LoraSettings(r=4))
    with pytest.raises(ConfigError, match="lora"):
        RewardModelModule(**module_kwargs(backbone=lora, freeze_backbone=True, projection_dim=8, lazy_build=True))


# -- the command line -----------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
FROZEN_CONFIG = REPO / "configs" / "smollm2-135m-frozen.yaml"


def tiny_overlay(path: Path, files: dict[str, Path], root: Path, **trainer) -> Path:
    """configs/smollm2-135m-frozen.yaml with the very small random backbone, tiny data and a few epochs."""
    import yaml

    overlay = {
        "model": {
            "backbone": {"name_or_path": "builtin:tiny-qwen3", "tiny": dict(TINY)},
            "feature_cache_dir": str(root / "features"),
            "max_prompt_tokens": 64,
            "max_answer_tokens": 48,
        },
        "data": {
            "train": [{"path": str(files["train"])}],
            "val": [{"path": str(files["test"])}],
            "test": [{"path": str(files["test"])}],
            "batch_size": 4,
        },
        "trainer": {
            "max_epochs": 2,
            "check_val_every_n_epoch": 1,
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root),
            **trainer,
        },
        "export": {"final_dir": str(root / "model")},
    }
    path.write_text(yaml.safe_dump(overlay))
    return path


def test_the_frozen_config_runs_through_the_cli(tmp_path, files):
    """`mrrml fit -c configs/smollm2-135m-frozen.yaml` (its settings as shipped: frozen, cached, projection
    64, eager loss) with the backbone, data and epochs overridden to run in seconds."""
    from mrrml.cli.train import run as train_run

    overlay = tiny_overlay(tmp_path / "tiny.yaml", files, tmp_path / "run")
    # Output to a file (pytest's capture, a batch job): the CLI logs a plain line per epoch.
    progress = ProgressLines()
    logging.getLogger("lightning.pytorch").addHandler(progress)
    try:
        assert train_run(["fit", "-c", str(FROZEN_CONFIG), "-c", str(overlay)]) == 0
    finally:
        logging.getLogger("lightning.pytorch").removeHandler(progress)
    assert [line.split(" done")[0] for line in progress.messages] == [
        "mrrml train: epoch 1/2",
        "mrrml train: epoch 2/2",
    ]
    model = mrrml.load(tmp_path / "run" / "model")
    assert model.heads.projection_dim == 64
    record = make_triplets(1, seed=3)[0]
    scores = model.score([record.prompt] * 2, [record.good, record.poor])
    assert torch.isfinite(scores.raw).all()
    shards = list((tmp_path / "run" / "features").glob("*/*.safetensors"))
    assert shards
    # a second fit on the same data reads every feature from the cache: test it through `mrrml test`
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert train_run(["test", "-c", str(FROZEN_CONFIG), "-c", str(overlay), "--ckpt_path", str(checkpoint)]) == 0


BATCH_2 = ("--data.batch_size", "2")


@pytest.mark.slow
def test_ddp_ranks_share_one_cache(tmp_path, files):
    """Two gloo ranks (batch 2 each) fill one cache at once and read each other's rows after each epoch;
    their heads match one process with batch 4, and the cache holds every row once, all shards valid."""
    import os
    import subprocess
    import sys

    from mrrml.cli.train import run as train_run
    from mrrml.training.feature_store import FeatureStore

    single = tiny_overlay(tmp_path / "single.yaml", files, tmp_path / "single", max_epochs=3)
    assert train_run(["fit", "-c", str(FROZEN_CONFIG), "-c", str(single)]) == 0
    ddp = tiny_overlay(tmp_path / "ddp.yaml", files, tmp_path / "ddp", max_epochs=3, devices=2, strategy="ddp")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mrrml"), "fit", "-c", str(FROZEN_CONFIG), "-c", str(ddp), *BATCH_2],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    from safetensors.torch import load_file

    one = load_file(str(tmp_path / "single" / "model" / "heads.safetensors"))
    two = load_file(str(tmp_path / "ddp" / "model" / "heads.safetensors"))
    for key in one:
        assert torch.allclose(one[key], two[key], atol=2e-4, rtol=1e-3), key
    [directory] = [p for p in (tmp_path / "ddp" / "features").iterdir() if p.is_dir()]
    [reference] = [p for p in (tmp_path / "single" / "features").iterdir() if p.is_dir()]
    assert directory.name == reference.name  # same backbone, same fingerprint
    shared = FeatureStore(directory.parent, directory.name, 32)
    alone = FeatureStore(reference.parent, reference.name, 32)
    assert not shared.rejected and len(shared) == len(alone) > 0
