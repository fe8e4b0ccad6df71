"""Load the shared backbone: a base causal-LM transformer (no LM head), optionally LoRA-wrapped and quantised.

The reward model reads hidden states only, so it loads ``AutoModel`` (e.g. ``Qwen3Model``), which also
accepts ``*ForCausalLM`` checkpoints (the LM head is simply not loaded). Builtins are first written to a
local cache directory as an ordinary checkpoint, so every backbone — builtin, local directory or cached
hub id — takes the same ``from_pretrained`` path and gets dtype, attention, quantisation and LoRA the
same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import torch

from ..errors import ConfigError, ModelLoadError
from .builtins import BUILTIN_PREFIX, TINY_QWEN3, materialize_builtin, tiny_settings

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_QUANTIZATIONS = (None, "4bit", "8bit")


@dataclass
class LoraSettings:
    """LoRA adapter settings (peft). The reward heads live outside the backbone and are never targets."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        self.target_modules = tuple(self.target_modules)
        if self.r < 1 or self.alpha <= 0 or not 0 <= self.dropout < 1 or not self.target_modules:
            raise ConfigError(f"invalid LoRA settings: {self}")


@dataclass
class BackboneConfig:
    """Where the backbone comes from and how to load it.

    ``name_or_path``: a local directory, a hub id (resolved from the local cache only), or a builtin
    (``builtin:tiny-qwen3`` with sizes in ``tiny``; ``builtin:smollm2-135m``). ``gguf_file`` names a GGUF
    file inside ``name_or_path`` to dequantise.
    """

    name_or_path: str
    dtype: str = "float32"
    attn_implementation: str = "sdpa"
    gradient_checkpointing: bool = False
    lora: LoraSettings | None = None
    quantization: Literal["4bit", "8bit"] | None = None
    trust_remote_code: bool = False
    gguf_file: str | None = None
    tiny: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if self.dtype not in _DTYPES:
            raise ConfigError(f"backbone.dtype: unknown dtype {self.dtype!r}; known: {sorted(_DTYPES)}")
        if self.quantization not in _QUANTIZATIONS:
            raise ConfigError(f"backbone.quantization: must be one of {_QUANTIZATIONS}, got {self.quantization!r}")
        if self.tiny and self.name_or_path != TINY_QWEN3:
            raise ConfigError(f"backbone.tiny is only valid with {TINY_QWEN3}, not {self.name_or_path!r}")
        if self.name_or_path == TINY_QWEN3:
            tiny_settings(self.tiny)  # fail at configuration time, not at first load

    @property
    def is_builtin(self) -> bool:
        return self.name_or_path.startswith(BUILTIN_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings; a local directory is written as an absolute path so a saved model finds it."""
        data = asdict(self)
        if not self.is_builtin and Path(self.name_or_path).exists():
            data["name_or_path"] = str(Path(self.name_or_path).resolve())
        if self.lora is not None:
            data["lora"]["target_modules"] = list(self.lora.target_modules)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "backbone") -> BackboneConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown backbone keys {unknown}; known: {sorted(known)}")
        if "name_or_path" not in data:
            raise ConfigError(f"{where}: 'name_or_path' is required")
        return cls(**data)


def torch_dtype(name: str) -> torch.dtype:
    return _DTYPES[name]


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def quantization_config(cfg: BackboneConfig, sharded: bool = False) -> Any:
    """The bitsandbytes config for ``cfg.quantization`` (NF4 with double quantisation for 4-bit, as QLoRA).

    ``sharded``: the 4-bit weights will be sharded by FSDP, so they are stored packed in the compute
    dtype (``bnb_4bit_quant_storage``) instead of uint8. FSDP all-gathers a layer's parameters in one
    dtype and casts every parameter to its ``param_dtype`` first: packed uint8 storage would be cast
    (destroyed), packed bf16 storage passes through bit for bit."""
    from transformers import BitsAndBytesConfig

    if cfg.quantization == "4bit":
        extra = {"bnb_4bit_quant_storage": torch_dtype(cfg.dtype)} if sharded else {}
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(cfg.dtype),
            **extra,
        )
    if sharded:
        raise ConfigError("backbone.quantization: 8bit weights cannot be sharded by FSDP; use 4bit (QLoRA)")
    return BitsAndBytesConfig(load_in_8bit=True)


def local_device(env: Mapping[str, str] | None = None, cuda: bool | None = None) -> torch.device:
    """This process's own device before Lightning assigns one: ``cuda:<local rank>``, else the CPU.

    The local rank is ``LOCAL_RANK`` (torchrun and Lightning's own launcher set it) or ``SLURM_LOCALID``
    (``srun``, one task per GPU). A bitsandbytes backbone is placed when it is loaded, so a model built
    in ``__init__`` of a multi-GPU run must pick its GPU from these, or every rank lands on GPU 0.
    """
    env = os.environ if env is None else env
    if not (torch.cuda.is_available() if cuda is None else cuda):
        return torch.device("cpu")
    return torch.device("cuda", int(env.get("LOCAL_RANK", env.get("SLURM_LOCALID", "0"))))


def resolve_source(cfg: BackboneConfig) -> tuple[str, str | None]:
    """(directory or hub id, gguf file) to hand to ``from_pretrained``; builtins are materialised first."""
    if cfg.is_builtin:
        return str(materialize_builtin(cfg.name_or_path, cfg.tiny)), None
    return cfg.name_or_path, cfg.gguf_file


def load_tokenizer(source: str, cfg: BackboneConfig, gguf_file: str | None = None) -> Any:
    """The tokenizer, with a pad token (falls back to eos) so batches can be padded."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, gguf_file=gguf_file, local_files_only=_offline(), trust_remote_code=cfg.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load tokenizer from {source!r}: {exc}") from exc
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ModelLoadError(f"tokenizer of {source!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _from_pretrained_kwargs(cfg: BackboneConfig) -> dict[str, Any]:
    return dict(
        dtype=torch_dtype(cfg.dtype),
        attn_implementation=cfg.attn_implementation,
        trust_remote_code=cfg.trust_remote_code,
    )


def load_base(
    source: str,
    cfg: BackboneConfig,
    gguf_file: str | None = None,
    *,
    device: torch.device | str | None = None,
    sharded: bool = False,
) -> torch.nn.Module:
    """The base transformer (no LM head, no adapter) with dtype, attention and quantisation applied.

    A quantised base is loaded straight onto ``device`` (default :func:`local_device`); ``sharded`` says
    FSDP will shard it (see :func:`quantization_config`)."""
    from transformers import AutoModel

    kwargs: dict[str, Any] = dict(_from_pretrained_kwargs(cfg), local_files_only=_offline())
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    else:
        # Weights only from safetensors: a pickled checkpoint (.bin/.pt) could execute code on load.
        kwargs["use_safetensors"] = True
    if cfg.quantization:
        kwargs["quantization_config"] = quantization_config(cfg, sharded)
        kwargs["device_map"] = {"": torch.device(device) if device is not None else local_device()}
    try:
        model = AutoModel.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load backbone from {source!r}: {exc}") from exc
    model.config.use_cache = False
    return model


def empty_base(source: str, cfg: BackboneConfig) -> torch.nn.Module:
    """The base transformer of ``source`` with its parameters on the meta device (no weights read).

    Buffers stay real: non-persistent ones (rotary frequencies) are computed at construction and are in
    no checkpoint, so a meta copy of them could never be filled. The quantisation setting is ignored:
    this is the layout the sharded parameters and the unquantised adapter export share."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModel

    try:
        config = AutoConfig.from_pretrained(
            source, local_files_only=_offline(), trust_remote_code=cfg.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the backbone config of {source!r}: {exc}") from exc
    with init_empty_weights(include_buffers=False):
        model = AutoModel.from_config(config, **_from_pretrained_kwargs(cfg))
    model.config.use_cache = False
    return model


def apply_training_settings(model: torch.nn.Module, cfg: BackboneConfig) -> torch.nn.Module:
    """Gradient checkpointing, QLoRA preparation and the LoRA wrapper, in the order peft expects."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    checkpoint_kwargs = {"use_reentrant": False}
    if cfg.quantization:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs=checkpoint_kwargs,
        )
    elif cfg.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers 5 name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=checkpoint_kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpoint_kwargs)
    if cfg.lora is not None:
        lora = LoraConfig(
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules=list(cfg.lora.target_modules),
            bias="none",
        )
        try:
            model = get_peft_model(model, lora)
        except ValueError as exc:
            raise ConfigError(f"backbone.lora.target_modules {list(cfg.lora.target_modules)}: {exc}") from exc
    elif cfg.quantization:
        # A quantised base without an adapter cannot be trained; keep it frozen (heads-only training).
        model.requires_grad_(False)
    return model


def load_backbone(
    cfg: BackboneConfig, *, device: torch.device | str | None = None, sharded: bool = False, empty: bool = False
) -> tuple[torch.nn.Module, Any]:
    """(backbone, tokenizer) ready for training: base model + quantisation + LoRA per ``cfg``.

    ``device`` and ``sharded`` as in :func:`load_base`; ``empty`` builds the same modules with meta
    parameters instead (:func:`empty_base`; an FSDP rank that receives its weights from rank 0)."""
    source, gguf_file = resolve_source(cfg)
    tokenizer = load_tokenizer(source, cfg, gguf_file)
    if empty:
        model = apply_training_settings(empty_base(source, cfg), replace(cfg, quantization=None))
    else:
        model = apply_training_settings(load_base(source, cfg, gguf_file, device=device, sharded=sharded), cfg)
    return model, tokenizer


def hidden_size(model: torch.nn.Module) -> int:
    config = model.config
    size = getattr(config, "hidden_size", None) or getattr(getattr(config, "text_config", None), "hidden_size", None)
    if not size:
        raise ModelLoadError(f"backbone config {type(config).__name__} has no hidden_size")
    return int(size)


def source_dir(cfg: BackboneConfig) -> Path | None:
    """The local checkpoint directory a builtin was materialised into (None for other sources)."""
    return Path(resolve_source(cfg)[0]) if cfg.is_builtin else None


def attention_implementation(model: Any) -> str:
    """The attention implementation a loaded backbone runs with (``config._attn_implementation``).

    Packing and last-layer pruning both depend on it: each works only with kernels that take an
    arbitrary 4-D mask."""
    config = getattr(model, "config", None)
    name = getattr(config, "_attn_implementation", None) or getattr(config, "attn_implementation", None)
    return str(name) if name else "eager"
