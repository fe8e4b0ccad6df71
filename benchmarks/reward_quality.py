"""Reward quality of a saved model: what ``mrrml evaluate`` measures, timed, as one JSON object.

Usage (the options of ``mrrml evaluate``, parsed by its own parser, see docs/cli.md)::

    python benchmarks/reward_quality.py --model DIR [--held_out_prompts FILE] [--held_out_conditions FILE]
        [--train FILE] [--healthbench package|none|PATH] [--healthbench_limit N]
        [--variants '[filler, markdown, polite, reorder]'] [--best_of_n '[1, 2, 4, 8, 16]'] [--draws 200]
        [--n_boot 1000] [--seed 0] [--batch_size 16] [--device cpu] [--out FILE]

The measurement is :func:`mrrml.cli.evaluate.measure`, the function the command runs, so the two
cannot disagree. The test sets are TripletRecord JSON Lines from ``mrrml synth``: held-out conditions
from the test split of ``--holdout conditions``, held-out prompts from a second run with another
seed (its test split), and ``--train`` the training split the model saw, so that records it makes
not held out are dropped (see :mod:`mrrml.eval.quality.holdout`).

Without ``--model`` it runs on its own (``run_all.py`` calls it so): a random-init tiny model
(``builtin:tiny-qwen3``) on fresh template data and 20 packaged HealthBench rows, a check that the
whole evaluation runs and how fast it scores; its quality numbers are those of an untrained model.

Writes (``--out``) and prints ONE JSON object (one line): the report (``QualityReport.to_dict()``), the
inputs, the machine, and the wall/CPU seconds of loading and evaluating with the answers scored per
second.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO_ROOT, clocks, machine

sys.path.insert(0, str(REPO_ROOT))


def self_contained_inputs(work: Path) -> list[str]:
    """Options naming an untrained tiny model and template data written under ``work``."""
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
    return [
        "--model",
        str(work / "model"),
        "--train",
        str(work / "conditions" / "train.jsonl"),
        "--held_out_conditions",
        str(work / "conditions" / "test.jsonl"),
        "--held_out_prompts",
        str(work / "prompt" / "test.jsonl"),
        "--healthbench_limit",
        "20",
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--model" or a.startswith("--model=") for a in argv):
        return run(argv, self_contained=False)
    with tempfile.TemporaryDirectory(prefix="mrrml-reward-quality-") as work:
        return run([*self_contained_inputs(Path(work)), *argv], self_contained=True)


def run(argv: list[str], self_contained: bool) -> dict[str, Any]:
    from mrrml.cli._parsing import build_parser, modernize
    from mrrml.cli.evaluate import COMMAND, measure
    from mrrml.io import atomic_write_json

    prog = "benchmarks/reward_quality.py"
    parser = build_parser(COMMAND, prog)
    options = parser.parse_args(modernize(argv, parser, {}, prog)).as_dict()
    out = options.pop("out")
    options.pop("config", None)
    wall0, cpu0 = clocks()
    measured = measure(**options)
    wall1, cpu1 = clocks()
    result = {
        "benchmark": "reward_quality",
        "inputs": {**options, "self_contained": self_contained},
        "machine": machine(),
        "timing": {
            "load_s": measured.load_seconds,
            "evaluate_s": measured.evaluate_seconds,
            "cpu_s": round(cpu1 - cpu0, 2),
            "wall_s": round(wall1 - wall0, 2),
            "answers_scored": measured.answers_scored,
            "answers_per_s": round(measured.answers_scored / measured.evaluate_seconds, 1)
            if measured.evaluate_seconds > 0
            else None,
        },
        "report": measured.report.to_dict(),
    }
    if out:
        atomic_write_json(out, result)
    print(json.dumps(result, sort_keys=True, allow_nan=False))
    return result


if __name__ == "__main__":
    main()
