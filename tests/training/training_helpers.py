"""Helpers of the training tests: small record files written through the records API, tiny model settings.

The triplets degrade one dimension per record in a way a model can pick up (different wording per
dimension and level), so a few steps of training move the metrics; the tests check mechanics
(equality of runs, errors, files), never a hard-coded score.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lightning.pytorch as pl

from mrrml.data.records import TripletRecord, record_to_dict

DIMS = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
TOPICS = [
    "a mild fever",
    "a sprained ankle",
    "seasonal allergies",
    "a tension headache",
    "mild dehydration",
    "a minor burn",
    "an insect bite",
    "heartburn",
    "a dry cough",
    "trouble sleeping",
    "a nosebleed",
    "motion sickness",
]
DEGRADE = {
    "accuracy": ("Some details may be wrong.", "Take ten times the usual dose."),
    "completeness": ("That is most of it.", "That is all."),
    "communication_quality": ("it is kind of a thing, you know", "asdf lol whatever idk"),
    "context_awareness": ("Your situation was not considered.", "I ignored what you told me."),
    "instruction_following": ("I did not use the format you asked.", "I refuse to follow the request."),
}


def make_triplets(n: int, seed: int = 0, neutral: bool = False) -> list[TripletRecord]:
    records = []
    for i in range(n):
        topic = TOPICS[(i + seed) % len(TOPICS)]
        dim = DIMS[i % len(DIMS)]
        good = f"For {topic}, rest, drink fluids and see a clinician if it gets worse or lasts over three days."
        medium_suffix, poor_suffix = DEGRADE[dim]
        records.append(
            TripletRecord(
                id=f"t{seed}-{i}",
                prompt=f"Case {i}: what should I do about {topic}?",
                dimension=dim,
                scenario="context_seeking",
                discipline="internal_medicine",
                good=good,
                medium=f"For {topic}, rest. {medium_suffix}",
                poor=f"{poor_suffix} {poor_suffix}",
                neutral=(good + " I hope this helps.") if neutral else None,
                source="test",
            )
        )
    return records


def write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record_to_dict(r)) + "\n" for r in records))
    return path


TINY = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
}


def module_kwargs(**overrides) -> dict:
    """Init args of RewardModelModule for a very small random Qwen3 (fast on 2 shared cores)."""
    from mrrml.model.backbone import BackboneConfig

    kwargs = dict(
        backbone=BackboneConfig("builtin:tiny-qwen3", tiny=dict(TINY)),
        matrix="healthbench",
        lr=1e-3,
        head_lr=3e-3,
        warmup=0.1,
        compile_loss=False,
        max_prompt_tokens=64,
        max_answer_tokens=48,
    )
    kwargs.update(overrides)
    return kwargs


def write_cli_config(
    path: Path, train: Path, root: Path, model: dict | None = None, data: dict | None = None, **trainer
) -> Path:
    """A config for `mrrml fit` with the very small model, no validation, deterministic (``model`` and
    ``data`` entries, and the trainer's keyword arguments, replace the defaults key by key)."""
    import yaml

    config = {
        "seed_everything": 0,
        "model": {
            "backbone": {"name_or_path": "builtin:tiny-qwen3", "tiny": dict(TINY)},
            "matrix": "healthbench",
            "lr": 1e-3,
            "head_lr": 3e-3,
            "warmup": 0.1,
            "compile_loss": False,
            "max_prompt_tokens": 64,
            "max_answer_tokens": 48,
            **(model or {}),
        },
        "data": {"train": [{"path": str(train)}], "val_fraction": 0.0, "batch_size": 4, "seed": 0, **(data or {})},
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "max_steps": 4,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root),
            "limit_val_batches": 0,
            **trainer,
        },
        "export": {"final_dir": str(root / "model"), "with_checkpoints": False},
    }
    path.write_text(yaml.safe_dump(config))
    return path


REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


# The GPU recipes' tiny stand-in: bitsandbytes' CPU inference kernels need 64 input features or more.
TINY_RECIPE = {**TINY, "hidden_size": 64, "intermediate_size": 128, "head_dim": 32}


def write_tiny_overrides(path: Path, files: dict[str, Path], root: Path, devices: int, **trainer) -> Path:
    """A second config file that shrinks a shipped GPU config to the tiny builtin on CPU processes.

    Only sizes, data, device and step counts change: the backbone's dtype, quantisation, LoRA and
    checkpointing, the strategy, precision, accumulation, clipping and callbacks stay the shipped ones."""
    import yaml

    config = {
        "model": {
            "backbone": {"name_or_path": "builtin:tiny-qwen3", "tiny": dict(TINY_RECIPE)},
            "compile_loss": False,  # an Inductor C++ build would dominate a run this small
            "max_prompt_tokens": 64,
            "max_answer_tokens": 48,
        },
        "data": {split: [{"path": str(file)}] for split, file in files.items()} | {"batch_size": 2},
        "trainer": {
            "accelerator": "cpu",
            "devices": devices,
            "max_steps": 3,
            "default_root_dir": str(root),
            "log_every_n_steps": 1,
            **trainer,
        },
        "export": {"final_dir": str(root / "model")},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def probe_arg(out: Path) -> str:
    """``--trainer.callbacks+=`` value appending :class:`tests.training.probes.RunProbe` to a config's callbacks."""
    spec = {"class_path": "tests.training.probes.RunProbe", "init_args": {"out": str(out)}}
    return "--trainer.callbacks+=" + json.dumps(spec)


def run_mrrml(args: list[str], cwd: Path, timeout: float = 300) -> None:
    """``mrrml ARGS`` in a fresh process (Lightning starts the other ranks from its command line); a hung
    collective fails the test at ``timeout`` instead of hanging the suite."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mrrml"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def run_recipe(name: str, data: dict[str, Path], tmp_path: Path, devices: int, **trainer) -> tuple[list[dict], Path]:
    """``mrrml fit`` on ``configs/<name>.yaml`` shrunk by :func:`write_tiny_overrides`, with the probe:
    (each rank's probe record, the model directory). Two or more devices run in fresh processes."""
    from tests.training.probes import read_probes

    overrides = write_tiny_overrides(tmp_path / "tiny.yaml", data, tmp_path / "run", devices, **trainer)
    args = ["fit", "-c", str(CONFIGS / f"{name}.yaml"), "-c", str(overrides), probe_arg(tmp_path / "probe")]
    if devices > 1 or trainer.get("accelerator") == "gpu":
        run_mrrml(args, cwd=tmp_path)
    else:
        from mrrml.cli.train import run as train_run

        assert train_run(args) == 0
    return read_probes(tmp_path / "probe", devices), tmp_path / "run" / "model"


class ProgressLines(logging.Handler):
    """The progress lines Lightning's logger emits (whether or not it propagates to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("mrrml train:"):
            self.messages.append(record.getMessage())


def quiet_trainer(root: Path, **settings) -> pl.Trainer:
    """A real CPU Trainer with nothing on screen or disk but what ``settings`` ask for."""
    return pl.Trainer(
        **{
            "accelerator": "cpu",
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "enable_checkpointing": False,
            "default_root_dir": root,
            **settings,
        }
    )
