"""Shared fixtures: the real Qwen3 tokenizer and a tiny random-init Qwen3 saved to disk.

Area-specific fixtures live in ``tests/<area>/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Inductor compiles once per machine, not once per test run.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(REPO_ROOT / ".cache" / "inductor"))
# The AOTAutograd cache once served a stale compiled backward here (torch 2.13); Inductor's own
# FX-graph cache, which holds the expensive C++ builds, stays on.
os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Builtin backbones (tiny Qwen3, dequantised SmolLM2) are materialised here, not in ~/.cache.
os.environ.setdefault("MRRML_CACHE_DIR", str(REPO_ROOT / ".cache" / "mrrml"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TINY_QWEN3 = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=2048,
)


@pytest.fixture(scope="session")
def qwen_tokenizer_dir() -> Path:
    from mrrml.resources import qwen3_tokenizer_dir

    return qwen3_tokenizer_dir()


@pytest.fixture(scope="session")
def qwen_tokenizer(qwen_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen_tokenizer_dir, local_files_only=True)


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory, qwen_tokenizer) -> Path:
    """A random-init Qwen3 (hidden 64, 2 layers, fp32) with the real tokenizer, saved as safetensors."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(qwen_tokenizer), tie_word_embeddings=True, pad_token_id=qwen_tokenizer.pad_token_id, **TINY_QWEN3
    )
    model = Qwen3ForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-qwen3")
    model.save_pretrained(out)
    qwen_tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def healthbench_hard_sample() -> Path:
    """The 90 hard HealthBench rows in ``../shared`` beside the checkout (test data, never shipped)."""
    path = REPO_ROOT.parent / "shared" / "healthbench" / "hard_sample.jsonl"
    if not path.exists():
        pytest.skip("../shared/healthbench/hard_sample.jsonl is absent on this machine")
    return path


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run only where a CUDA GPU is present (``benchmarks/gpu_check.sh``)."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
