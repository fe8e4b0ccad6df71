"""The three resumable jobs as :class:`harness.Job` objects: the real CLI command, where it writes, and
how far it got (the progress counter the kill points are placed on)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.reliability.harness import Job, size_of
from tests.reliability.standin import StandInServer


def synth_job(out: Path, n: int, *options: str, name: str = "synth") -> Job:
    """``mrrml synth`` over the HealthBench matrix (the template backend unless ``options`` choose another)."""
    argv = ["synth", "--matrix", "standards/healthbench.yaml", "--n", str(n), "--seed", "5", *options]
    argv += ["--quiet", "--out", str(out)]
    return Job(
        name,
        lambda: argv,
        out,
        size_of(out / "work" / "log.jsonl"),
        appendable=lambda p: p.name == "log.jsonl",
        timeout=180,
    )


def synth_openai_job(out: Path, n: int, generator: StandInServer, window: int = 8) -> Job:
    """``mrrml synth --backend openai`` against a stand-in vLLM: the LLM pipeline (drafts, rewrites,
    neutrals, rubrics, the judge on every answer) with ``window`` requests in flight."""
    options = ["--backend", "openai", "--base-url", generator.base_url, "--model", "stand-in"]
    options += ["--neutral-rate", "0.5", "--concurrency", str(window)]
    return synth_job(out, n, *options, name="synth-openai")


def healthbench_rows(path: Path, n: int) -> Path:
    from mrrml.resources import healthbench_package_rows

    with open(healthbench_package_rows(), encoding="utf-8") as handle:
        path.write_text("".join(next(handle) for _ in range(n)), encoding="utf-8")
    return path


def healthbench_job(
    out: Path, data: Path, policy: StandInServer, grader: StandInServer, env: dict[str, str] | None = None
) -> Job:
    argv = [
        "healthbench",
        "run",
        "--data",
        str(data),
        "--sampler-base-url",
        policy.base_url,
        "--sampler-model",
        "policy",
        "--grader-base-url",
        grader.base_url,
        "--grader-model",
        "grader",
        "--concurrency",
        "2",
        "--backoff",
        "0.01",
        "--out",
        str(out),
    ]
    if env:
        argv += ["--sampler-api-key-env", "MRRML_TEST_API_KEY", "--grader-api-key-env", "MRRML_TEST_API_KEY"]
    cache = out / "cache"
    return Job(
        "healthbench",
        lambda: argv,
        out,
        size_of(cache / "samples.jsonl", cache / "grader.jsonl"),
        env=env or {},
        appendable=lambda p: p.parent.name == "cache",
        timeout=120,
    )


TINY = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
}


def fit_data(path: Path, n: int) -> Path:
    from mrrml.data.records import TripletRecord, write_records

    topics = ["a fever", "a sprain", "hay fever", "a headache", "a burn", "heartburn", "a cough", "insomnia"]
    dims = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
    write_records(
        path,
        [
            TripletRecord(
                id=f"r{i}",
                prompt=f"Case {i}: what should I do about {topics[i % 8]}?",
                dimension=dims[i % 5],
                scenario="context_seeking",
                discipline="internal_medicine",
                good=f"For {topics[i % 8]}: rest, fluids, and see a clinician if it persists.",
                medium=f"For {topics[i % 8]}: rest.",
                poor="Nothing to do.",
                source="reliability",
            )
            for i in range(n)
        ],
    )
    return path


def fit_job(root: Path, data: Path, steps: int) -> Job:
    import yaml

    ckpt = root / "ckpt"
    config = {
        "seed_everything": 0,
        "model": {
            "backbone": {"name_or_path": "builtin:tiny-qwen3", "tiny": TINY},
            "matrix": "healthbench",
            "lr": 1e-3,
            "head_lr": 3e-3,
            "warmup": 0.1,
            "compile_loss": False,
            "max_prompt_tokens": 48,
            "max_answer_tokens": 32,
        },
        "data": {"train": [{"path": str(data)}], "val_fraction": 0.0, "batch_size": 4, "seed": 0},
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "max_steps": steps,
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root),
            "limit_val_batches": 0,
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {
                        "dirpath": str(ckpt),
                        "every_n_train_steps": 1,
                        "save_last": True,
                        "save_top_k": 1,
                        "filename": "{step}",
                    },
                }
            ],
        },
        "export": {"final_dir": str(root / "model")},
    }
    root.mkdir(parents=True, exist_ok=True)
    (root.parent / f"{root.name}.yaml").write_text(yaml.safe_dump(config))

    def argv() -> list[str]:
        resume = ["--ckpt_path", str(ckpt / "last.ckpt")] if (ckpt / "last.ckpt").exists() else []
        return ["fit", "-c", str(root.parent / f"{root.name}.yaml"), *resume]

    def step() -> int:
        # Lightning names a re-saved step "step=N-v1.ckpt" after a resume from an older last.ckpt.
        names = [p.name for p in ckpt.glob("step=*.ckpt")] if ckpt.exists() else []
        return max((int(m.group(1)) for m in map(re.compile(r"step=(\d+)").match, names) if m), default=0)

    return Job("fit", argv, root, step, timeout=300)
