"""Scoring answers per second: ``RewardModel.score`` vs a plain batched transformers classifier loop.

Usage: ``python benchmarks/score_throughput.py [--hidden 512] [--layers 4] [--seq 256] [--answers 32]
[--batch 8] [--rounds 4] [--device cpu|cuda] [--shape qwen3-0.6b|qwen3-8b] [--impls mrrml,mrrml-noprune,hf]``

``--shape`` takes a real Qwen3's published sizes (random init, built in memory on ``--device``); on
CUDA both rows score in bf16, on the CPU in fp32.

Two workloads of ``--answers`` (prompt, answer) pairs, prompt and answer lengths drawn uniformly from
[seq/2, 3·seq/2] tokens (mean ``--seq`` each), as real traffic varies:

* ``single`` — every answer has its own prompt (reward-model serving, DPO-style data scoring);
* ``group8`` — 8 answers per prompt (GRPO/RLOO groups, best-of-8).

Rows: ``mrrml`` = ``RewardModel.score`` (length-sorted batches; answers sharing a prompt are packed so
the prompt is encoded once; the last decoder layer computes only the pooled positions),
``mrrml-noprune`` = the same call with last-layer pruning off (``RewardModel.score(...,
prune_last_layer=False)``; everything else, length buckets included, unchanged), to show that
optimisation's share, and ``hf`` = what a user writes with transformers: render the chat
template, append the answer, tokenise a batch with padding, run ``AutoModelForSequenceClassification``
(``num_labels`` = the matrix's dimensions, same random-init Qwen3 weights) under ``inference_mode`` in
input order. Both start from text, same dtype, same batch size. Each row runs in its own process (its
own peak RSS and, on CUDA, peak GPU memory); passes are interleaved (A, B, C, D, A, ...) after one
untimed warm-up pass per row. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    QWEN3_SHAPES,
    REPO_ROOT,
    Worker,
    backbone_sizes,
    clocks,
    machine,
    qwen3_config,
    random_qwen3,
    random_reward_model,
    summary,
    words,
)

sys.path.insert(0, str(REPO_ROOT))


def workload(kind: str, n: int, seq: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(prompts, answers): ``single`` = one prompt per answer, ``group8`` = 8 answers per prompt."""
    rng = random.Random(f"{seed}:{kind}")
    per_prompt = 1 if kind == "single" else 8
    prompts: list[str] = []
    answers: list[str] = []
    for _ in range(0, n, per_prompt):
        prompt = words(rng, rng.randint(seq // 2, 3 * seq // 2))
        for _ in range(per_prompt):
            prompts.append(prompt)
            answers.append(words(rng, rng.randint(seq // 2, 3 * seq // 2)))
    return prompts[:n], answers[:n]


DTYPE = {"cpu": "float32", "cuda": "bfloat16"}


class MrrmlRow:
    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self.model = random_reward_model(
            cfg["sizes"], cfg["device"], DTYPE[cfg["device"]], False, 4 * cfg["seq"], 4 * cfg["seq"]
        ).eval()
        self.prompts, self.answers = workload(cfg["workload"], cfg["answers"], cfg["seq"])

    def run(self) -> tuple[float, float]:
        start = clocks()
        self.model.score(
            self.prompts, self.answers, batch_size=self.cfg["batch"], prune_last_layer=self.cfg["impl"] == "mrrml"
        )
        end = clocks()
        return end[0] - start[0], end[1] - start[1]

    def tokens(self) -> dict[str, float]:
        examples = [self.model.encoder.encode(p, a) for p, a in zip(self.prompts, self.answers)]
        prompt = [e.prompt_last + 1 for e in examples]
        return {
            "mean_prompt_tokens": sum(prompt) / len(prompt),
            "mean_answer_tokens": sum(len(e.input_ids) - p for e, p in zip(examples, prompt)) / len(prompt),
        }


class HfRow:
    def __init__(self, cfg: dict[str, Any]):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from mrrml.model.backbone import torch_dtype
        from mrrml.resources import qwen3_tokenizer_dir

        self.cfg = cfg
        self.tokenizer = AutoTokenizer.from_pretrained(qwen3_tokenizer_dir(), local_files_only=True)
        config = qwen3_config(cfg["sizes"], self.tokenizer, num_labels=5)
        dtype = torch_dtype(DTYPE[cfg["device"]])
        self.model = random_qwen3(config, AutoModelForSequenceClassification, cfg["device"], dtype).eval()
        self.prompts, self.answers = workload(cfg["workload"], cfg["answers"], cfg["seq"])

    def run(self) -> tuple[float, float]:
        import torch

        start = clocks()
        texts = [
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
            + a
            + "<|im_end|>"
            for p, a in zip(self.prompts, self.answers)
        ]
        scores = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.cfg["batch"]):
                batch = self.tokenizer(texts[i : i + self.cfg["batch"]], padding=True, return_tensors="pt")
                scores.append(self.model(**batch.to(self.cfg["device"])).logits)
        torch.cat(scores).cpu()  # waits for the device, as RewardModel.score's CPU result does
        end = clocks()
        return end[0] - start[0], end[1] - start[1]


def make_row(cfg: dict[str, Any], conn: Any) -> Any:
    import torch

    torch.manual_seed(0)
    return MrrmlRow(cfg) if cfg["impl"].startswith("mrrml") else HfRow(cfg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256, help="mean prompt and mean answer tokens")
    parser.add_argument("--answers", type=int, default=32, help="answers per pass (multiple of 8)")
    parser.add_argument("--batch", type=int, default=8, help="answers per forward batch (both rows)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--device", default="cpu", choices=sorted(DTYPE))
    parser.add_argument(
        "--shape", choices=sorted(QWEN3_SHAPES), help="a real Qwen3's sizes instead of --hidden/--layers"
    )
    parser.add_argument("--impls", default="mrrml,mrrml-noprune,hf", help="comma-separated rows (mrrml is always run)")
    args = parser.parse_args(argv)
    sizes = QWEN3_SHAPES[args.shape] if args.shape else backbone_sizes(args.hidden, args.layers)
    impls = ["mrrml", *(i for i in args.impls.split(",") if i and i != "mrrml")]

    base = {
        "shape": args.shape or "custom",
        "sizes": sizes,
        "device": args.device,
        "seq": args.seq,
        "answers": args.answers,
        "batch": args.batch,
    }
    names = [f"{impl}_{kind}" for kind in ("single", "group8") for impl in impls]
    workers = {
        name: Worker(name, make_row, {**base, "impl": name.split("_")[0], "workload": name.split("_")[1]})
        for name in names
    }
    for name in names:
        workers[name].call("run")  # warm-up pass
    times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for _ in range(args.rounds):
        for name in names:
            times[name].append(workers[name].call("run"))
    lengths = {kind: workers[f"mrrml_{kind}"].call("tokens") for kind in ("single", "group8")}
    rows = {}
    for name in names:
        stats = summary(times[name])
        rows[name] = {
            "pass_s": stats,
            "answers_per_s": args.answers / stats["median_s"],
            "answers_per_cpu_s": args.answers / stats["median_cpu_s"],
            **workers[name].stop(),
        }
    result: dict[str, Any] = {
        "benchmark": "score_throughput",
        "machine": machine(),
        "setup": {**base, "rounds": args.rounds, "dtype": DTYPE[args.device], "workload_tokens": lengths},
        "rows": rows,
    }
    for kind in ("single", "group8"):
        mine, theirs, full_layer = (rows.get(f"{impl}_{kind}") for impl in ("mrrml", "hf", "mrrml-noprune"))
        if theirs:
            result[f"{kind}_speedup"] = mine["answers_per_s"] / theirs["answers_per_s"]
            result[f"{kind}_speedup_cpu_time"] = mine["answers_per_cpu_s"] / theirs["answers_per_cpu_s"]
        if theirs and full_layer:
            result[f"{kind}_speedup_without_pruning"] = full_layer["answers_per_s"] / theirs["answers_per_s"]
        if full_layer:
            result[f"{kind}_pruning_gain"] = mine["answers_per_s"] / full_layer["answers_per_s"]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
