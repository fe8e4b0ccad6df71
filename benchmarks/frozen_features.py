"""Frozen-backbone training: encoding throughput of the backbone, and an epoch with and without the cache.

Usage: ``python benchmarks/frozen_features.py [--backbone builtin:tiny-qwen3|builtin:smollm2-135m]
[--records 16] [--epochs 1] [--rounds 2] [--data FILE] [--batch 8] [--projection 256]``

Data: the first ``--records`` triplets of ``--data`` (default: template records written here by the
synthetic generator, ``mrrml synth``'s default backend: ~300-token answers, 3-4 answers per record).

Rows, interleaved (A, B, C, D, A, ...) after one untimed warm-up of each, all in this one process:

* ``encode_score`` — the rows' answers through ``RewardModel.score`` (the prompt-shared inference path:
  each prompt once, its key/value cache serving its answers, the last layer pruned to the pooled
  positions), from text;
* ``encode_train_batch`` — the same answers as the training loader's collated batches through
  ``embed_batch`` under ``no_grad``: what the feature cache runs on a miss;
* ``epoch_frozen`` — one epoch of the real Lightning ``Trainer`` with ``freeze_backbone`` and
  ``feature_cache: false`` (the frozen backbone runs every step);
* ``epoch_cached`` — the same epoch with ``feature_cache: true`` and every row already cached.

Throughput is reported per answer row and in row tokens (prompt + answer tokens of each row, what one
padded row per answer holds) per second. The machine's load average is recorded before and after: on a
shared machine wall times include other users' work. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO_ROOT, backbone_sizes, clocks, machine, summary

sys.path.insert(0, str(REPO_ROOT))


def template_records(out: Path, n: int) -> Path:
    """``n`` triplets of the template generator (``mrrml synth``'s default backend), as JSON Lines."""
    from mrrml.cli.synth import run as synth

    synth(["--matrix", str(REPO_ROOT / "standards" / "healthbench.yaml"), "--n", str(n), "--seed", "1",
           "--val-frac", "0", "--test-frac", "0", "--out", str(out), "--quiet"])  # fmt: skip
    return out / "train.jsonl"


def module_kwargs(args: argparse.Namespace, cache: bool, cache_dir: Path) -> dict[str, Any]:
    from mrrml.model.backbone import BackboneConfig

    tiny = backbone_sizes(64, 2) if args.backbone == "builtin:tiny-qwen3" else {}
    return dict(
        backbone=BackboneConfig(args.backbone, tiny=tiny),
        matrix="healthbench",
        projection_dim=args.projection,
        freeze_backbone=True,
        feature_cache=cache,
        feature_cache_dir=str(cache_dir),
        head_lr=3e-3,
        warmup=0.05,
        compile_loss=False,
        max_prompt_tokens=256,
        max_answer_tokens=512,
    )


class EpochTimer:
    """Wall and CPU time of each training epoch (setup, sanity checks and teardown excluded)."""

    def __init__(self) -> None:
        import lightning.pytorch as pl

        timer = self

        class _Callback(pl.Callback):
            def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
                timer.start = clocks()

            def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
                now = clocks()
                timer.samples.append((now[0] - timer.start[0], now[1] - timer.start[1]))

        self.start = (0.0, 0.0)
        self.samples: list[tuple[float, float]] = []
        self.callback = _Callback()


def fit_epochs(args: argparse.Namespace, data: Path, cache: bool, cache_dir: Path, root: Path) -> dict[str, Any]:
    import lightning.pytorch as pl

    from mrrml.data.datamodule import DataSource, RewardDataModule
    from mrrml.training.module import RewardModelModule

    pl.seed_everything(0, verbose=False)
    module = RewardModelModule(**module_kwargs(args, cache, cache_dir))
    datamodule = RewardDataModule(
        train=[DataSource(str(data))], val_fraction=0.0, batch_size=args.batch, seed=0, encoder=module.encoder
    )
    timer = EpochTimer()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=args.epochs,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=root,
        limit_val_batches=0,
        callbacks=[timer.callback],
    )
    trainer.fit(module, datamodule)
    features = module._cached_features
    return {
        "epochs": timer.samples,
        "steps": int(trainer.global_step),
        "misses": features.misses if features else None,
        "hits": features.hits if features else None,
    }


def encode_rows(args: argparse.Namespace, data: Path) -> tuple[Any, Any]:
    """(score pass, train-batch pass): callables that each encode every answer of ``data`` once."""
    import torch

    from mrrml.data.datamodule import DataSource, RewardDataModule
    from mrrml.model.packed_forward import embed_batch
    from mrrml.model.reward_model import RewardModel
    from mrrml.standards.loader import load_matrix
    from mrrml.training.feature_cache import FeatureExtractor

    kwargs = module_kwargs(args, False, Path("."))
    matrix = load_matrix(REPO_ROOT / "standards" / "healthbench.yaml")
    model = RewardModel.build(kwargs["backbone"], matrix, projection_dim=args.projection, max_prompt_tokens=256,
                              max_answer_tokens=512)  # fmt: skip
    model.eval()
    # the test loader keeps every record (the train loader drops a short last batch)
    datamodule = RewardDataModule(test=[DataSource(str(data))], batch_size=args.batch, seed=0)
    datamodule.set_tokenizer(model.tokenizer)
    datamodule.max_prompt_tokens, datamodule.max_answer_tokens = 256, 512
    datamodule.setup("test")
    batches = list(datamodule.test_dataloader())
    records = datamodule.records("test")
    prompts, answers = [], []
    for record in records:
        for role in ("good", "medium", "poor", "neutral"):
            if getattr(record, role, None) is not None:
                prompts.append(record.prompt)
                answers.append(getattr(record, role))
    rows = sum(int(b["input_ids"].shape[0]) for b in batches)
    row_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    extractor = FeatureExtractor(model)

    def score(limit: int | None = None) -> None:
        model.score(prompts[:limit], answers[:limit], batch_size=16)

    def train_batch(limit: int | None = None) -> None:
        with torch.no_grad():
            for batch in batches[: 1 if limit else None]:
                embed_batch(extractor, batch, packing="auto")

    assert rows == len(answers), (rows, len(answers))  # both paths encode the same answers
    return (score, train_batch), {"rows": rows, "row_tokens": row_tokens, "records": len(records)}


def rates(samples: list[tuple[float, float]], rows: int, tokens: int) -> dict[str, Any]:
    out = summary(samples)
    out["rows_per_s"] = rows / out["median_s"]
    out["row_tokens_per_s"] = tokens / out["median_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="builtin:tiny-qwen3")
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (>= 2: the first is timed apart)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--projection", type=int, default=256)
    parser.add_argument("--data", type=Path, default=None, help="triplet JSON Lines (default: template records)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--parts", default="encode,epochs", help="which rows: encode, epochs or both")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (a cached run's first epoch also opens the cache and is timed apart)")
    import lightning.pytorch as pl
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    pl.seed_everything(0, verbose=False)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        source = args.data or template_records(tmp_path / "synth", max(args.records, 8))
        lines = source.read_text(encoding="utf-8").splitlines()[: args.records]
        data = tmp_path / "records.jsonl"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")

        result: dict[str, Any] = {
            "benchmark": "frozen_features",
            "machine": machine(),
            "config": vars(args) | {"data": str(source)},
        }
        timings: dict[str, list[tuple[float, float]]] = {"encode_score": [], "encode_train_batch": []}
        epochs: dict[str, list[tuple[float, float]]] = {
            "epoch_frozen": [],
            "epoch_cached_first": [],
            "epoch_cached": [],
        }
        if "encode" in args.parts:
            (score, train_batch), sizes = encode_rows(args, data)
            result["sizes"] = sizes
            score(limit=8), train_batch(limit=1)  # warm-up on a few rows (allocator, first-call work)
            for _ in range(args.rounds):
                for name, run in (("encode_score", score), ("encode_train_batch", train_batch)):
                    t0 = clocks()
                    run()
                    t1 = clocks()
                    timings[name].append((t1[0] - t0[0], t1[1] - t0[1]))
            result["encode_score"] = rates(timings["encode_score"], sizes["rows"], sizes["row_tokens"])
            result["encode_train_batch"] = rates(timings["encode_train_batch"], sizes["rows"], sizes["row_tokens"])

        if "epochs" in args.parts:
            cache_dir = tmp_path / "features"
            # The first epoch of a cached run also opens the cache (fingerprint, shards): timed apart.
            cold = fit_epochs(
                args, data, True, cache_dir, tmp_path / "cold"
            )  # fills the cache (its first epoch encodes)
            result["epoch_cached_cold"] = {"first_epoch": summary(cold["epochs"][:1]), "misses": cold["misses"]}
            misses = []
            for _ in range(args.rounds):
                epochs["epoch_frozen"] += fit_epochs(args, data, False, cache_dir, tmp_path / "frozen")["epochs"]
                warm = fit_epochs(args, data, True, cache_dir, tmp_path / "warm")
                epochs["epoch_cached_first"] += warm["epochs"][:1]
                epochs["epoch_cached"] += warm["epochs"][1:]
                misses.append(warm["misses"])
            result["epoch_frozen"] = summary(epochs["epoch_frozen"])
            result["epoch_cached_first"] = summary(epochs["epoch_cached_first"])
            result["epoch_cached"] = summary(epochs["epoch_cached"]) | {
                "misses": misses,
                "steps_per_epoch": warm["steps"] // args.epochs,
            }
            result["epoch_speedup"] = result["epoch_frozen"]["median_s"] / result["epoch_cached"]["median_s"]
        result["samples"] = {k: v for k, v in {**timings, **epochs}.items() if v}
    result["load_average_before_after"] = [load_before[0], os.getloadavg()[0]]
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
