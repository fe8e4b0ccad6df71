"""Training comparisons per second: mrrml packed vs mrrml unpacked vs TRL's RewardTrainer, side by side.

Usage: ``python benchmarks/train_throughput.py [--hidden 512] [--layers 4] [--seq 256] [--batch 4]
[--rounds 5] [--steps-per-round 2] [--warmup 2] [--device cpu|cuda] [--shape qwen3-0.6b|qwen3-8b]
[--lora]``

``--shape`` takes the published sizes of a real Qwen3 (random init, built in memory on ``--device``,
nothing downloaded) instead of ``--hidden``/``--layers``; on CUDA the rows train in ``bf16-mixed``
(weights fp32, or bf16 for a frozen ``--lora`` base, as the GPU configs), on the CPU in fp32.

Same machine, same pairs (token for token: TRL gets the ids mrrml's encoder produced), same random-init
Qwen3 weights, same batch size, fp32, AdamW, gradient clipping 1.0:

* ``mrrml_packed`` / ``mrrml_unpacked`` — the real Lightning ``Trainer`` on ``RewardModelModule`` with
  every head of the HealthBench matrix and the GPRC loss (pairs name a dimension, so they are GPRC
  triplets without a medium answer); ``packing`` on or off.
* ``trl`` — ``trl.RewardTrainer`` (its own ``Trainer`` loop, collator and Bradley-Terry loss) on a
  ``Qwen3ForSequenceClassification`` of the same size and weights.

Each row runs in its own process (its own peak RSS); the coordinator gives each row ``--steps-per-round``
steps in turn (A, B, C, A, B, C, ...) after ``--warmup`` steps each (compilation, allocator warm-up) that
are not timed. A step's time covers forward, backward and the optimizer step. The achieved model FLOP/s
(6·N·tokens for the linear layers plus 12·L·d·(attended query-key pairs) for attention, N without the
embedding table) is compared with plain ``torch.matmul`` at the layers' GEMM shapes, measured between
rounds on the same machine, and on a GPU with its dense bf16 peak (model FLOP utilisation, MFU). With
``--lora`` the frozen base needs no weight gradients, so its linear layers count 4·N per token, not 6·N.
Each row reports its peak host RSS and, on CUDA, its peak GPU memory. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    QWEN3_SHAPES,
    REPO_ROOT,
    PacedTraining,
    StepGate,
    Worker,
    backbone_sizes,
    machine,
    qwen3_config,
    random_qwen3,
    random_reward_model,
    summary,
    words,
)
from matmul_limit import matmul_flops

sys.path.insert(0, str(REPO_ROOT))

DIMENSIONS = ("accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following")


def write_pairs(path: Path, n: int, prompt_words: int, answer_words: int, seed: int = 0) -> None:
    """``n`` pair records (each names a dimension: GPRC applies), texts longer than the token limits."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            record = {
                "id": f"pair-{i}",
                "prompt": words(rng, prompt_words),
                "chosen": words(rng, answer_words),
                "rejected": words(rng, answer_words),
                "dimension": DIMENSIONS[i % len(DIMENSIONS)],
            }
            out.write(json.dumps(record) + "\n")


# Precision of the rows per device: the CPU trains in fp32; a GPU in bf16-mixed (as the GPU configs).
PRECISION = {"cpu": "32-true", "cuda": "bf16-mixed"}


def weights_dtype(cfg: dict[str, Any]) -> str:
    """fp32 weights, except a frozen LoRA base on a GPU, which is kept in bf16 (the compute dtype of a 4-bit
    base) as the LoRA/QLoRA configs do."""
    return "bfloat16" if cfg["lora"] and cfg["device"] == "cuda" else "float32"


def mrrml_worker(cfg: dict[str, Any], conn: Any) -> PacedTraining:
    import lightning.pytorch as pl

    from mrrml.data.datamodule import DataSource, RewardDataModule
    from mrrml.model.backbone import BackboneConfig
    from mrrml.training.module import RewardModelModule

    module = RewardModelModule(
        backbone=BackboneConfig("random-init-qwen3", dtype=weights_dtype(cfg), quantization=cfg["quantization"]),
        matrix="healthbench",
        packing=cfg["packing"],
        max_prompt_tokens=cfg["prompt_tokens"],
        max_answer_tokens=cfg["answer_tokens"],
        lr=1e-5,
        warmup=0,
        lazy_build=True,
    )
    # Built here in memory on the device; configure_model keeps a model that is already there.
    module.reward_model = random_reward_model(
        cfg["sizes"],
        cfg["device"],
        weights_dtype(cfg),
        cfg["lora"],
        cfg["prompt_tokens"],
        cfg["answer_tokens"],
        quantization=cfg["quantization"],
    ).train()
    if cfg["device"] == "cuda":  # the peak GPU memory reported is training's, not that of building the model
        import torch

        torch.cuda.reset_peak_memory_stats()
    if cfg.get("fused_adamw"):
        _use_fused_adamw(module)
    data = RewardDataModule(
        train=[DataSource(cfg["data"])],
        matrix="healthbench",
        val_fraction=0.0,
        batch_size=cfg["batch"],
        encoder=module.encoder,
    )

    class Gate(pl.Callback):
        def __init__(self, gate: StepGate):
            self.gate = gate

        def on_train_batch_start(self, *args: Any) -> None:
            self.gate.before_step()

        def on_train_batch_end(self, *args: Any) -> None:
            self.gate.after_step()

    def run(gate: StepGate) -> None:
        trainer = pl.Trainer(
            accelerator=cfg["device"],
            devices=1,
            max_steps=cfg["total_steps"],
            precision=PRECISION[cfg["device"]],
            gradient_clip_val=1.0,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            callbacks=[Gate(gate)],
            default_root_dir=cfg["workdir"],
        )
        trainer.fit(module, datamodule=data)

    return PacedTraining(run)


def _use_fused_adamw(module: Any) -> None:
    """What-if row: the module's own optimizer and schedule, with AdamW's fused kernel (as TRL's default).

    Same parameter groups, learning rates, weight decay, betas and LR lambda; only ``fused=True``
    differs. Shows what that one-line change in ``configure_optimizers`` would be worth.
    """
    import torch

    original = module.configure_optimizers

    def configure_optimizers() -> Any:
        config = original()
        old, schedule = config["optimizer"], config["lr_scheduler"]["scheduler"]
        groups = [{k: v for k, v in g.items() if k not in ("initial_lr", "foreach", "fused")} for g in old.param_groups]
        fused = torch.optim.AdamW(groups, betas=old.defaults["betas"], fused=True)
        config["optimizer"] = fused
        config["lr_scheduler"]["scheduler"] = torch.optim.lr_scheduler.LambdaLR(fused, schedule.lr_lambdas)
        return config

    module.configure_optimizers = configure_optimizers


def trl_worker(cfg: dict[str, Any], conn: Any) -> PacedTraining:
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback
    from trl import RewardConfig, RewardTrainer

    from mrrml.data.encoder import ConversationEncoder
    from mrrml.data.records import read_records
    from mrrml.model.backbone import torch_dtype
    from mrrml.resources import qwen3_tokenizer_dir

    tokenizer = AutoTokenizer.from_pretrained(qwen3_tokenizer_dir(), local_files_only=True)
    encoder = ConversationEncoder(tokenizer, cfg["prompt_tokens"], cfg["answer_tokens"])
    rows = [
        {
            "chosen_ids": encoder.encode(r.prompt, r.chosen).input_ids,
            "rejected_ids": encoder.encode(r.prompt, r.rejected).input_ids,
        }
        for r in read_records(cfg["data"]).records
    ]
    # Same sizes, seed and backbone weights as the mrrml rows (the backbone is initialised first).
    config = qwen3_config(cfg["sizes"], tokenizer, num_labels=1)
    model = random_qwen3(config, AutoModelForSequenceClassification, cfg["device"], torch_dtype(weights_dtype(cfg)))
    peft_config = None
    if cfg["lora"]:
        from peft import LoraConfig

        from mrrml.model.backbone import LoraSettings

        lora = LoraSettings(dropout=0.0)
        peft_config = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=0.0,
            target_modules=list(lora.target_modules),
            task_type="SEQ_CLS",
        )
    args = RewardConfig(
        output_dir=cfg["workdir"],
        per_device_train_batch_size=cfg["batch"],
        max_steps=cfg["total_steps"],
        learning_rate=1e-5,
        lr_scheduler_type="constant",
        max_grad_norm=1.0,
        bf16=cfg["device"] == "cuda",
        fp16=False,
        use_cpu=cfg["device"] == "cpu",
        logging_steps=10**6,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        max_length=None,
        seed=0,
    )

    class Gate(TrainerCallback):
        def __init__(self, gate: StepGate):
            self.gate = gate

        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self.gate.before_step()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.gate.after_step()

    def run(gate: StepGate) -> None:
        trainer = RewardTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            callbacks=[Gate(gate)],
            peft_config=peft_config,
        )
        trainer.train()

    return PacedTraining(run)


# Dense bf16 peak FLOP/s of GPUs the check runs on (vendor datasheets, without sparsity).
GPU_PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}


def gpu_peak_flops() -> float | None:
    import torch

    name = torch.cuda.get_device_name(0)
    return next((peak for key, peak in GPU_PEAK_BF16.items() if key in name), None)


def model_flops(cfg: dict[str, Any], packed: bool) -> dict[str, float]:
    """Training FLOPs of one step (see module docstring) and the tokens it processes."""
    sizes = cfg["sizes"]
    h, f, layers = sizes["hidden_size"], sizes["intermediate_size"], sizes["num_hidden_layers"]
    d_q = sizes["num_attention_heads"] * sizes["head_dim"]
    d_kv = sizes["num_key_value_heads"] * sizes["head_dim"]
    params = layers * (h * d_q * 2 + h * d_kv * 2 + 3 * h * f)  # q,o + k,v + gate/up/down
    q, a, pairs = cfg["prompt_tokens"], cfg["answer_tokens"], cfg["batch"]
    if packed:
        tokens = pairs * (q + 2 * a)
        attended = pairs * (q * (q + 1) // 2 + 2 * (a * q + a * (a + 1) // 2))
    else:
        tokens = pairs * 2 * (q + a)
        attended = pairs * 2 * ((q + a) * (q + a + 1) // 2)
    per_token = 4.0 if cfg["lora"] else 6.0  # a frozen base computes no weight gradients
    return {
        "tokens": tokens,
        "flops": per_token * params * tokens + 12.0 * layers * d_q * attended,
        "params_non_embedding": params,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256, help="prompt and answer tokens (each)")
    parser.add_argument("--batch", type=int, default=4, help="pairs per optimizer step (all rows)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--rows",
        default="mrrml_packed,mrrml_unpacked,trl",
        help="comma-separated; also available: mrrml_packed_fused_adamw (what-if row)",
    )
    parser.add_argument("--device", default="cpu", choices=sorted(PRECISION))
    parser.add_argument(
        "--shape", choices=sorted(QWEN3_SHAPES), help="a real Qwen3's sizes instead of --hidden/--layers"
    )
    parser.add_argument("--lora", action="store_true", help="frozen base + LoRA r=16 on q/k/v/o (all rows)")
    parser.add_argument("--qlora", action="store_true", help="--lora over an NF4 base (bitsandbytes; mrrml rows only)")
    args = parser.parse_args(argv)
    args.lora = args.lora or args.qlora
    sizes = QWEN3_SHAPES[args.shape] if args.shape else backbone_sizes(args.hidden, args.layers)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")

    with tempfile.TemporaryDirectory(prefix="mrrml-bench-") as tmp:
        total = args.warmup + args.rounds * args.steps_per_round
        data = Path(tmp) / "pairs.jsonl"
        # ~1.3 tokens per word at most; generous word counts so truncation makes every row exactly --seq tokens
        write_pairs(data, args.batch * total, prompt_words=args.seq + 64, answer_words=args.seq + 64)
        base = {
            "shape": args.shape or "custom",
            "sizes": sizes,
            "device": args.device,
            "lora": args.lora,
            "quantization": "4bit" if args.qlora else None,
            "prompt_tokens": args.seq,
            "answer_tokens": args.seq,
            "batch": args.batch,
            "total_steps": total,
            "data": str(data),
        }
        factories = {
            "mrrml_packed": (mrrml_worker, {"packing": True}),
            "mrrml_packed_fused_adamw": (mrrml_worker, {"packing": True, "fused_adamw": True}),
            "mrrml_unpacked": (mrrml_worker, {"packing": False}),
            "trl": (trl_worker, {}),
        }
        names = [n for n in args.rows.split(",") if n]
        workers = {}
        for name in names:
            factory, extra = factories[name]
            workers[name] = Worker(name, factory, {**base, **extra, "workdir": str(Path(tmp) / name)})
        for name in names:
            workers[name].call("steps", n=args.warmup)
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        ceilings: list[float] = []
        for _ in range(args.rounds):
            for name in names:
                times[name].extend(workers[name].call("steps", n=args.steps_per_round))
            ceilings.append(
                matmul_flops(
                    sizes["hidden_size"],
                    2 * args.seq * args.batch,
                    repeats=3,
                    dtype=torch.bfloat16 if args.device == "cuda" else torch.float32,
                    device=args.device,
                )["all_shapes"]
            )
        peak_flops = gpu_peak_flops() if args.device == "cuda" else None
        rows: dict[str, Any] = {}
        for name in names:
            workers[name].call("finish")
            memory = workers[name].stop()
            stats = summary(times[name])
            flops = model_flops(base, packed=name.startswith("mrrml_packed"))
            achieved = flops["flops"] / stats["median_s"]
            rows[name] = {
                "step_s": stats,
                "comparisons_per_s": args.batch / stats["median_s"],
                "comparisons_per_cpu_s": args.batch / stats["median_cpu_s"],
                "tokens_per_step": flops["tokens"],
                "tokens_per_s": flops["tokens"] / stats["median_s"],
                "model_gflops_per_s": achieved / 1e9,
                "fraction_of_matmul": achieved / max(ceilings),
                "mfu": achieved / peak_flops if peak_flops else None,
                **memory,
            }
    result: dict[str, Any] = {
        "benchmark": "train_throughput",
        "machine": machine(),
        "setup": {
            **{k: v for k, v in base.items() if k not in ("data",)},
            "rounds": args.rounds,
            "steps_per_round": args.steps_per_round,
            "warmup_steps": args.warmup,
            "precision": PRECISION[args.device],
            "weights_dtype": weights_dtype(base),
            "params_non_embedding": model_flops(base, False)["params_non_embedding"],
        },
        "matmul_gflops_per_s": round(max(ceilings) / 1e9, 2),
        "gpu_peak_bf16_tflops": peak_flops / 1e12 if peak_flops else None,
        "rows": rows,
    }
    pairs = [(a, "trl") for a in names if a != "trl" and "trl" in rows]
    if "mrrml_packed" in rows and "mrrml_unpacked" in rows:
        pairs.append(("mrrml_packed", "mrrml_unpacked"))
    for mine, theirs in pairs:
        key = f"{mine}_vs_{theirs.removeprefix('mrrml_')}"
        result[key] = rows[mine]["comparisons_per_s"] / rows[theirs]["comparisons_per_s"]
        result[key + "_cpu_time"] = rows[mine]["comparisons_per_cpu_s"] / rows[theirs]["comparisons_per_cpu_s"]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
