"""Shared pieces of the throughput benchmarks: worker processes, interleaved rounds, machine info, data.

Why worker processes: every row of a comparison (mrrml packed, mrrml unpacked, TRL, ...) lives in its own
process, so its peak RSS is its own, and rows cannot share caches or allocator state. The coordinator
asks one worker at a time to run a slice of work (A, B, C, A, B, C, ...): load from other users of the
machine then hits every row alike, and only one row computes at any moment.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import random
import resource
import statistics
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(REPO_ROOT / ".cache" / "inductor"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Everyday clinical vocabulary; almost every word is one Qwen3 token after a space.
WORDS = [
    "patient",
    "pain",
    "fever",
    "blood",
    "pressure",
    "heart",
    "rate",
    "dose",
    "daily",
    "week",
    "month",
    "doctor",
    "nurse",
    "clinic",
    "test",
    "result",
    "normal",
    "high",
    "low",
    "chest",
    "breath",
    "cough",
    "child",
    "mother",
    "father",
    "sleep",
    "water",
    "food",
    "drug",
    "tablet",
    "morning",
    "night",
    "sugar",
    "level",
    "kidney",
    "liver",
    "skin",
    "rash",
    "eye",
    "head",
    "back",
    "leg",
    "arm",
    "hand",
    "foot",
    "stomach",
    "nausea",
    "risk",
    "sign",
    "care",
    "check",
    "follow",
    "call",
    "emergency",
    "visit",
    "history",
    "family",
    "allergy",
    "weight",
    "diet",
    "walk",
    "rest",
    "stress",
    "mood",
    "anxiety",
    "infection",
    "virus",
    "cold",
    "flu",
    "vaccine",
    "fluid",
    "salt",
    "heart",
    "lung",
    "brain",
    "bone",
    "joint",
    "muscle",
    "nerve",
    "hospital",
    "home",
    "advice",
    "plan",
    "start",
    "stop",
    "change",
    "increase",
    "reduce",
    "avoid",
    "continue",
    "monitor",
    "record",
    "report",
    "symptom",
    "cause",
    "treatment",
    "medicine",
    "label",
    "safe",
    "unsafe",
    "serious",
    "mild",
    "severe",
    "sudden",
    "slow",
    "fast",
    "new",
    "old",
    "long",
    "short",
]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


# Published sizes of real Qwen3 models (their config.json), for random-init runs at real shapes.
# Vocabulary and embedding tying come from the tokenizer and these flags; nothing is downloaded.
QWEN3_SHAPES: dict[str, dict[str, Any]] = {
    "qwen3-0.6b": dict(
        hidden_size=1024,
        intermediate_size=3072,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
    ),
    "qwen3-8b": dict(
        hidden_size=4096,
        intermediate_size=12288,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        rope_theta=1000000.0,
        tie_word_embeddings=False,
    ),
}


def backbone_sizes(hidden: int, layers: int) -> dict[str, int]:
    """Qwen3-shaped sizes for a random-init backbone: head_dim 64, GQA 2:1, MLP 3x hidden."""
    heads = max(1, hidden // 64)
    return dict(
        hidden_size=hidden,
        intermediate_size=3 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        head_dim=64,
        max_position_embeddings=8192,
    )


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def peak_rss_mb() -> float:
    """This process's RSS high-water mark in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_memory() -> dict[str, float]:
    """Peak host RSS and, where this process used CUDA, the peak GPU memory torch allocated (MiB)."""
    import torch

    peaks = {"peak_rss_mb": round(peak_rss_mb(), 1)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peaks["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return peaks


def clocks() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process over all its threads).

    On a shared machine wall time also counts time other users' processes held the cores; the CPU
    time of the process is the work this row itself did, a second, less load-sensitive view.
    """
    return time.perf_counter(), time.process_time()


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Median/min/max of the wall times and the median CPU time of (wall, cpu) samples."""
    wall = [w for w, _ in samples]
    return {
        "median_s": statistics.median(wall),
        "min_s": min(wall),
        "max_s": max(wall),
        "n": len(wall),
        "median_cpu_s": statistics.median(c for _, c in samples),
    }


# ---------------------------------------------------------------------- workers
def _serve(factory: Callable[[dict[str, Any], Any], Any], config: dict[str, Any], conn: Any) -> None:
    """Worker main: build the row's object, then answer commands until 'stop'."""
    import sys

    sys.stdout = sys.stderr  # stdout carries only the coordinator's JSON; libraries print progress
    try:
        obj = factory(config, conn)
        conn.send(("ready", None))
        while True:
            command, kwargs = conn.recv()
            if command == "stop":
                conn.send(("ok", peak_memory()))
                return
            conn.send(("ok", getattr(obj, command)(**kwargs)))
    except BaseException:  # report any failure to the coordinator instead of hanging it
        conn.send(("error", traceback.format_exc()))


class Worker:
    """One benchmark row in its own (spawned) process."""

    def __init__(self, name: str, factory: Callable[[dict[str, Any], Any], Any], config: dict[str, Any]):
        ctx = mp.get_context("spawn")
        self.name = name
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(factory, config, child), daemon=True)
        self.process.start()
        self._expect("ready")

    def _expect(self, status: str) -> Any:
        got, payload = self.conn.recv()
        if got == "error":
            raise RuntimeError(f"benchmark worker {self.name!r} failed:\n{payload}")
        if got != status:
            raise RuntimeError(f"benchmark worker {self.name!r}: expected {status!r}, got {got!r}")
        return payload

    def call(self, command: str, **kwargs: Any) -> Any:
        self.conn.send((command, kwargs))
        return self._expect("ok")

    def stop(self) -> dict[str, Any]:
        result = self.call("stop")
        self.process.join(timeout=60)
        return result


class StepGate:
    """Paces a training loop that someone else owns (Lightning, HF Trainer) from the coordinator.

    The loop runs in a thread of the worker (:class:`PacedTraining`). Before a step, if the current slice
    is used up, the gate waits for the next slice size; after the step it records the step's wall time
    (forward, backward, optimizer; not the wait) and hands the slice's times back at its end.
    """

    def __init__(self) -> None:
        import queue

        self.requests: queue.Queue[int] = queue.Queue()
        self.results: queue.Queue[list[tuple[float, float]] | BaseException] = queue.Queue()
        self.remaining = 0
        self.times: list[tuple[float, float]] = []
        self._t0 = (0.0, 0.0)

    def before_step(self) -> None:
        if self.remaining == 0:
            self.remaining = self.requests.get()
        self._t0 = clocks()

    def after_step(self) -> None:
        now = clocks()
        self.times.append((now[0] - self._t0[0], now[1] - self._t0[1]))
        self.remaining -= 1
        if self.remaining == 0:
            self.results.put(self.times)
            self.times = []


class PacedTraining:
    """A worker object whose ``steps(n)`` runs the next ``n`` steps of a training loop owned by ``run``.

    ``run(gate)`` must call ``gate.before_step()`` / ``gate.after_step()`` around every optimizer step
    (a callback does it) and stop after the planned number of steps.
    """

    def __init__(self, run: Callable[[StepGate], None]):
        import threading

        self.gate = StepGate()
        self._run = run
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._started = False

    def _main(self) -> None:
        try:
            self._run(self.gate)
        except BaseException as exc:  # surface the trainer's failure to the coordinator
            self.gate.results.put(exc)

    def steps(self, n: int) -> list[tuple[float, float]]:
        if not self._started:
            self._thread.start()
            self._started = True
        self.gate.requests.put(n)
        result = self.gate.results.get()
        if isinstance(result, BaseException):
            raise result
        return result

    def finish(self) -> None:
        self._thread.join(timeout=600)


# ---------------------------------------------------------------------- random-init models in memory
def qwen3_config(sizes: dict[str, Any], tokenizer: Any, **extra: Any) -> Any:
    """A ``Qwen3Config`` of ``sizes`` with the tokenizer's vocabulary and special tokens."""
    from transformers import Qwen3Config

    sizes = {"tie_word_embeddings": False, **sizes}
    return Qwen3Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **sizes,
        **extra,
    )


def random_qwen3(config: Any, auto_class: Any, device: str, dtype: Any, seed: int = 0) -> Any:
    """A random-init model of ``config`` built directly on ``device`` in ``dtype`` (no checkpoint on disk:
    an 8B model in fp32 would take minutes to initialise on the CPU and 32 GB to write). The same seed
    gives the same backbone weights for every head class (the backbone is built first)."""
    import torch

    torch.manual_seed(seed)
    with torch.device(device):
        model = auto_class.from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.config.use_cache = False
    return model


def quantize_4bit(model: Any, device: str, compute_dtype: Any) -> Any:
    """Replace the decoder's linear layers by bitsandbytes NF4 layers (double quantisation, as
    ``quantization: 4bit`` loads them), layer by layer in memory; marks the model 4-bit for peft."""
    import bitsandbytes as bnb
    from torch import nn

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                layer = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=child.bias is not None,
                    compute_dtype=compute_dtype,
                    compress_statistics=True,
                    quant_type="nf4",
                    device="meta",
                )
                layer.weight = bnb.nn.Params4bit(
                    child.weight.data, requires_grad=False, compress_statistics=True, quant_type="nf4"
                )
                if child.bias is not None:
                    layer.bias = child.bias
                setattr(module, name, layer.to(device))  # quantises on the move
    model.is_loaded_in_4bit = True
    return model


def random_reward_model(
    sizes: dict[str, Any],
    device: str,
    dtype: str,
    lora: bool,
    max_prompt_tokens: int,
    max_answer_tokens: int,
    matrix: str = "healthbench",
    quantization: str | None = None,
) -> Any:
    """An mrrml ``RewardModel`` (heads of ``matrix``) over a random-init Qwen3 of ``sizes``, on ``device``;
    with ``lora`` the base is frozen and LoRA r=16 on the attention projections trains (as the configs);
    ``quantization="4bit"`` makes the base NF4 first (QLoRA)."""
    from transformers import AutoModel

    from mrrml.data.datamodule import resolve_matrix
    from mrrml.model.backbone import BackboneConfig, LoraSettings, apply_training_settings, load_tokenizer, torch_dtype
    from mrrml.model.heads import RewardHeads
    from mrrml.model.reward_model import RewardModel
    from mrrml.resources import qwen3_tokenizer_dir

    cfg = BackboneConfig(
        "random-init-qwen3", dtype=dtype, lora=LoraSettings(dropout=0.0) if lora else None, quantization=quantization
    )
    tokenizer = load_tokenizer(str(qwen3_tokenizer_dir()), cfg)
    base = random_qwen3(qwen3_config(sizes, tokenizer), AutoModel, device, torch_dtype(dtype))
    if quantization == "4bit":
        base = quantize_4bit(base, device, torch_dtype(dtype))
    backbone = apply_training_settings(base, cfg)
    standards = resolve_matrix(matrix)
    heads = RewardHeads(len(standards.dimension_ids), sizes["hidden_size"]).to(device)
    return RewardModel(backbone, tokenizer, standards, heads, cfg, True, max_prompt_tokens, max_answer_tokens)
