"""Reward quality of a saved model: ``mrrml.eval.quality.evaluate`` on synthetic test sets and HealthBench.

Usage::

    python benchmarks/reward_quality.py --model DIR [--held-out-prompts FILE] [--held-out-conditions FILE]
        [--train FILE] [--healthbench package|none|PATH] [--healthbench-limit N]
        [--variants filler markdown polite reorder] [--best-of-n 1 2 4 8 16] [--draws 200]
        [--n-boot 1000] [--seed 0] [--batch-size 16] [--device cpu] [--out FILE]

The test sets are TripletRecord JSON Lines from ``mrrml synth``: held-out conditions from the test
split of ``--holdout conditions``, held-out prompts from a second run with another seed (its test
split), and ``--train`` the training split the model saw, so that records it makes not held out are
dropped (see :mod:`mrrml.eval.quality.holdout`). ``--healthbench package`` scores physician
preference on the 500 packaged HealthBench rows.

Without ``--model`` it runs on its own (``run_all.py`` calls it so): a random-init tiny model
(``builtin:tiny-qwen3``) on fresh template data and 20 packaged HealthBench rows, a check that the
whole evaluation runs and how fast it scores; its quality numbers are those of an untrained model.

Writes (``--out``) and prints ONE JSON object (one line): the report (``QualityReport.to_dict()``), the
inputs, the machine, and the wall/CPU seconds of loading and evaluating with the answers scored per
second.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO_ROOT, clocks, machine

sys.path.insert(0, str(REPO_ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mrrml.eval.quality.best_of_n import DEFAULT_NS
    from mrrml.eval.quality.variants import VARIANT_KINDS

    p = argparse.ArgumentParser(prog="benchmarks/reward_quality.py", description=__doc__.splitlines()[0])
    p.add_argument("--model", help="saved reward model directory (default: an untrained tiny model, see above)")
    p.add_argument("--held-out-prompts", help="triplets: new prompts about training conditions")
    p.add_argument("--held-out-conditions", help="triplets: conditions absent from training")
    p.add_argument("--train", help="the model's training triplets (drops test records that are not held out)")
    p.add_argument("--healthbench", default="none", help="'package' (500 packaged rows), 'none', or a JSONL path")
    p.add_argument("--healthbench-limit", type=int, default=None)
    p.add_argument("--variants", nargs="+", default=list(VARIANT_KINDS))
    p.add_argument("--best-of-n", type=int, nargs="+", default=list(DEFAULT_NS))
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default=None)
    p.add_argument("--out", help="also write the JSON here")
    return p.parse_args(argv)


def self_contained_inputs(args: argparse.Namespace, work: Path) -> None:
    """Fill ``args`` with an untrained tiny model and template data written under ``work``."""
    from mrrml.data.synth.runner import SynthSettings, run_synthesis
    from mrrml.data.synth.template_backend import TemplateBackend
    from mrrml.model import BackboneConfig, RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    matrix = load_matrix(shipped_matrix("healthbench"))
    for holdout, seed in (("conditions", 0), ("prompt", 1)):
        settings = SynthSettings(n=300, seed=seed, val_frac=0.05, test_frac=0.05, holdout=holdout)
        run_synthesis(matrix, TemplateBackend(matrix, seed), settings, work / holdout, fsync=False)
    RewardModel.build(BackboneConfig("builtin:tiny-qwen3"), matrix).save_pretrained(work / "model")
    args.model = str(work / "model")
    args.train = str(work / "conditions" / "train.jsonl")
    args.held_out_conditions = str(work / "conditions" / "test.jsonl")
    args.held_out_prompts = str(work / "prompt" / "test.jsonl")
    if args.healthbench == "none":
        args.healthbench, args.healthbench_limit = "package", args.healthbench_limit or 20


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    args.self_contained = args.model is None
    if args.self_contained:
        with tempfile.TemporaryDirectory(prefix="mrrml-reward-quality-") as work:
            self_contained_inputs(args, Path(work))
            return run(args)
    return run(args)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import mrrml
    from mrrml.eval.healthbench.data import load_examples
    from mrrml.eval.quality import evaluate
    from mrrml.io import atomic_write_json
    from mrrml.resources import healthbench_package_rows

    wall0, cpu0 = clocks()
    model = mrrml.load(args.model, device=args.device)
    healthbench = None
    if args.healthbench != "none":
        source = healthbench_package_rows() if args.healthbench == "package" else Path(args.healthbench)
        healthbench = load_examples(source, args.healthbench_limit)
    wall1, cpu1 = clocks()
    report = evaluate(
        model,
        args.held_out_prompts,
        args.held_out_conditions,
        train=args.train,
        healthbench=healthbench,
        variants=args.variants,
        ns=args.best_of_n,
        draws=args.draws,
        n_boot=args.n_boot,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    wall2, cpu2 = clocks()
    answers = sum(s.answers_scored for s in report.test_sets.values())
    if healthbench is not None:
        answers += sum(
            1 + len(e.ideal.reference_completions) for e in healthbench if e.ideal and e.ideal.reference_completions
        )
    result = {
        "benchmark": "reward_quality",
        "inputs": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": machine(),
        "timing": {
            "load_s": round(wall1 - wall0, 2),
            "load_cpu_s": round(cpu1 - cpu0, 2),
            "evaluate_s": round(wall2 - wall1, 2),
            "evaluate_cpu_s": round(cpu2 - cpu1, 2),
            "answers_scored": answers,
            "answers_per_s": round(answers / (wall2 - wall1), 1) if wall2 > wall1 else None,
        },
        "report": report.to_dict(),
    }
    if args.out:
        atomic_write_json(args.out, result)
    print(json.dumps(result, sort_keys=True, allow_nan=False))
    return result


if __name__ == "__main__":
    main()
