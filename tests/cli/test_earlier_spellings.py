"""The command lines of README.md, examples/ and the benchmarks, as written before the jsonargparse CLI:
each still parses to the intended options (checked on the printed config), or fails naming the new one.
"""

from __future__ import annotations

import pytest
import yaml

from mrrml.cli import main

HB = "standards/healthbench.yaml"
# (argv as documented, {dotted key of the printed config: expected value})
DOCUMENTED = [
    (["standards", "show", HB, "-s", "emergency_referrals", "-c", "pediatrics"], {"discipline": "pediatrics"}),
    (["standards", "new", "cardio-demo", "--out", "x.yaml", "--force"], {"force": True}),
    (
        [
            "synth",
            "--matrix",
            HB,
            "--backend",
            "template",
            "--n",
            "5000",
            "--seed",
            "0",
            "--out",
            "data/",
            "--neutral-rate",
            "0.3",
            "--val-frac",
            "0.05",
            "--test-frac",
            "0.05",
            "--weighting",
            "weighted",
            "--holdout",
            "conditions",
        ],
        {"neutral_rate": 0.3, "val_frac": 0.05, "weighting": "weighted", "holdout": "conditions"},
    ),
    (
        ["synth", "--n", "1000", "--seed", "1", "--val-frac", "0.03", "--test-frac", "0.1", "--out", "d", "--quiet"],
        {"val_frac": 0.03, "test_frac": 0.1, "quiet": True},
    ),
    (["synth", "--backend", "transformers", "--model", "DIR", "--out", "d"], {"local_model": "DIR"}),
    (
        [
            "synth",
            "--backend",
            "openai",
            "--base-url",
            "http://h:8000/v1",
            "--model",
            "NAME",
            "--api-key-env",
            "VAR",
            "--concurrency",
            "16",
            "--timeout",
            "30",
            "--max-retries",
            "2",
            "--filter",
            "llm",
            "--out",
            "d",
        ],
        {
            "generator.base_url": "http://h:8000/v1",
            "generator.model": "NAME",
            "generator.api_key_env": "VAR",
            "window": 16,
            "generator.timeout": 30.0,
            "judge.timeout": 30.0,
            "generator.max_retries": 2,
            "judge.max_retries": 2,
        },
    ),
    (
        [
            "healthbench",
            "run",
            "--data",
            "hard",
            "--dry-run",
            "--sampler-base-url",
            "http://h:8000/v1",
            "--sampler-model",
            "Qwen/Qwen3-8B",
            "--max-tokens",
            "2048",
            "--grader-base-url",
            "http://h:8001/v1",
            "--grader-model",
            "Qwen/Qwen3-32B",
            "--concurrency",
            "64",
            "--max-retries",
            "4",
            "--timeout",
            "300",
            "--out",
            "runs/hb",
            "--grader-api-key-env",
            "OPENAI_API_KEY",
            "--on-grading-failure",
            "raise",
        ],
        {
            "data.source": "hard",
            "dry_run": True,
            "sampler.max_tokens": 2048,
            "grader.model": "Qwen/Qwen3-32B",
            "grader.api_key_env": "OPENAI_API_KEY",
            "concurrency": 64,
            "sampler.timeout": 300.0,
            "grader.timeout": 300.0,
            "grader.max_retries": 4,
            "scoring.on_grading_failure": "raise",
        },
    ),
    (
        [
            "healthbench",
            "run",
            "--sampler-local",
            "DIR",
            "--grader-template",
            "g.txt",
            "--grader-base-url",
            "u",
            "--grader-model",
            "g",
            "--out",
            "o",
        ],
        {"sampler.local_model": "DIR", "grader.template": "g.txt"},
    ),
    (["healthbench", "score", "--grades", "g.jsonl", "--out", "m.json"], {"grades": "g.jsonl"}),
    (
        [
            "healthbench",
            "rm-preference",
            "--reward-model",
            "M",
            "--data",
            "package",
            "--limit",
            "40",
            "--out",
            "p.json",
        ],
        {"reward_model": "M", "data.source": "package", "data.limit": 40},
    ),
    (
        ["healthbench", "rm-grader", "--reward-model", "M", "--grades", "g.jsonl", "--out", "r.json"],
        {"reward_model": "M"},
    ),
    (
        [
            "healthbench",
            "meta-eval",
            "--data",
            "meta_eval",
            "--grader-base-url",
            "u",
            "--grader-model",
            "g",
            "--out",
            "meta.json",
        ],
        {"data.source": "meta_eval", "grader.base_url": "u"},
    ),
    (
        [
            "serve",
            "runs/demo/model",
            "--port",
            "8000",
            "--max-batch",
            "32",
            "--max-wait-ms",
            "5",
            "--scenario",
            "emergency_referrals",
            "--discipline",
            "pediatrics",
            "--max-body-bytes",
            "8388608",
            "--torch-threads",
            "1",
            "--token-env",
            "TOKEN",
            "--log-level",
            "WARNING",
            "--max-rows-per-request",
            "64",
            "--request-timeout",
            "9",
        ],
        {
            "batching.max_batch": 32,
            "batching.max_wait_ms": 5.0,
            "limits.max_body_bytes": 8388608,
            "limits.max_rows_per_request": 64,
            "limits.request_timeout": 9.0,
            "torch_threads": 1,
            "token_env": "TOKEN",
        },
    ),
    (
        ["export", "runs/demo/model", "--format", "token-classification", "--out", "exported/tc"],
        {"format": "token-classification"},
    ),
    (["demo", "--out", "runs/demo"], {"out": "runs/demo"}),
    (
        ["demo", "--ablation", "--seed", "3", "--skip-healthbench"],
        {"ablation": True, "seed": 3, "skip_healthbench": True},
    ),
    (
        [
            "demo",
            "--n",
            "50",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--max-answer-tokens",
            "96",
            "--lr",
            "1e-3",
            "--no-freeze-embeddings",
            "--compile",
            "--healthbench-limit",
            "4",
            "--matrix",
            "mr-rml",
        ],
        {
            "n": 50,
            "trainer.max_epochs": 2,
            "data.batch_size": 4,
            "model.max_answer_tokens": 96,
            "model.lr": 1e-3,
            "model.freeze_embeddings": False,
            "model.compile_loss": True,
            "healthbench_limit": 4,
            "model.matrix": "mr-rml",
        },
    ),
]


def _value(config: dict, dotted: str):
    for key in dotted.split("."):
        config = config[key]
    return config


@pytest.mark.parametrize("argv, expected", DOCUMENTED, ids=[" ".join(a[:2]) for a, _ in DOCUMENTED])
def test_documented_command_lines_still_mean_what_they_meant(argv, expected, capsys):
    assert main([*argv, "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    for key, value in expected.items():
        assert _value(printed, key) == value, key


@pytest.mark.parametrize("option", ["--hidden", "--layers", "--head-dim"])
def test_demo_sizes_fail_naming_the_new_spelling(option, capsys):
    assert main(["demo", option, "32"]) == 2
    assert "--model.backbone.tiny" in capsys.readouterr().err
