"""A few GRPO steps (TRL ``GRPOTrainer``) with mrrml rewards: one function per dimension plus the total.

The per-dimension functions are logged (``rewards/mrrml_<dimension>/mean``) with weight 0; the
matrix-weighted total (``mrrml_reward``) is optimised with weight 1. The dataset's ``scenario``
column picks the matrix cell per prompt.

The policy here is a tiny random-init Qwen3 so the example runs on CPU in about a minute; pass
``--policy DIR`` for a real causal LM.

    .venv/bin/python examples/06_grpo.py [--reward-model DIR] [--policy DIR] [--steps 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PROMPTS = [
    ("I have chest pain spreading to my left arm and I'm sweating. What should I do?", "emergency_referrals"),
    ("Can I stop my blood pressure pills now that my readings are normal?", "hedging"),
    ("How do I store insulin while travelling somewhere hot?", "global_health"),
    ("My lab report says HbA1c 7.9%. What does that mean?", "health_data_tasks"),
]


def reward_model_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    for candidate in (ROOT / "runs/examples/model", ROOT / "runs/examples/untrained-model"):
        if (candidate / "mrrml_config.json").exists():
            return candidate
    from mrrml.model.backbone import BackboneConfig
    from mrrml.model.reward_model import RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    print("no reward model in runs/examples (run examples/03_train.sh); building an untrained tiny one")
    out = ROOT / "runs/examples/untrained-model"
    RewardModel.build(
        BackboneConfig(name_or_path="builtin:tiny-qwen3"), load_matrix(shipped_matrix("healthbench"))
    ).save_pretrained(out)
    return out


def tiny_policy(out: Path) -> Path:
    """A random-init Qwen3ForCausalLM of builtin:tiny-qwen3's sizes with the real Qwen3 tokenizer,
    saved like any checkpoint."""
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    from mrrml.model.builtins import TINY_DEFAULTS
    from mrrml.resources import qwen3_tokenizer_dir

    tokenizer = AutoTokenizer.from_pretrained(qwen3_tokenizer_dir(), local_files_only=True)
    torch.manual_seed(0)
    sizes = {k: v for k, v in TINY_DEFAULTS.items() if k != "seed"}
    config = Qwen3Config(
        vocab_size=len(tokenizer), tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id, **sizes
    )
    Qwen3ForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reward-model", help="saved mrrml model (default: runs/examples/model)")
    parser.add_argument("--policy", help="causal LM directory (default: a tiny random Qwen3)")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from mrrml.model.reward_model import load
    from mrrml.serve.trl import grpo_reward_weights, make_reward_funcs

    with tempfile.TemporaryDirectory(prefix="mrrml-grpo-") as tmp:
        policy_dir = Path(args.policy) if args.policy else tiny_policy(Path(tmp) / "policy")
        reward_funcs = make_reward_funcs(load(reward_model_dir(args.reward_model)))
        print("reward functions:", [f.__name__ for f in reward_funcs])
        dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": q}], "scenario": s} for q, s in PROMPTS])
        config = GRPOConfig(
            output_dir=str(Path(tmp) / "out"),
            max_steps=args.steps,
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=16,
            learning_rate=1e-4,
            logging_steps=1,
            reward_weights=grpo_reward_weights(reward_funcs),
            report_to=[],
            use_cpu=True,
            save_strategy="no",
            disable_tqdm=True,
            seed=0,
        )
        trainer = GRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(policy_dir, local_files_only=True),
            reward_funcs=reward_funcs,
            args=config,
            train_dataset=dataset,
            processing_class=AutoTokenizer.from_pretrained(policy_dir, local_files_only=True),
        )
        trainer.train()
    for entry in trainer.state.log_history:
        if "reward" in entry:
            per_dim = {
                k.split("/")[1]: round(v, 3)
                for k, v in entry.items()
                if k.startswith("rewards/") and k.endswith("/mean")
            }
            print(f"step {entry['step']}: reward={entry['reward']:+.3f} {per_dim}")


if __name__ == "__main__":
    main()
