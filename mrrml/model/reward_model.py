"""The multidimensional reward model: backbone + anchored pooling + per-dimension heads + matrix weights.

``z = f(h[last answer token]) - f(h[last prompt token])``, ``s = W z + b`` (one row per matrix
dimension), ``r = sum_d w_d(scenario, discipline) * (s_d - mean_d) / std_d``. See docs/design.md §2.

A saved model is one directory (no pickle anywhere; JSON, YAML and safetensors only)::

    mrrml_config.json     format version, backbone config/reference, heads shape, dimensions, encoder
    heads.safetensors     projection (optional), W, b
    normalization.json    per-dimension mean/std used by ``normalize``
    matrix.yaml           the standards matrix (its cell weights define the reward)
    tokenizer files       tokenizer + chat template, as the tokenizer saves them
    backbone/             full backbone weights (full fine-tuning, or a random-init builtin base)
    adapter/              the peft LoRA adapter (LoRA / QLoRA); the base comes from backbone/ or the reference
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..data.chat import Prompt
from ..data.encoder import ConversationEncoder, EncodedExample, pad_batch
from ..errors import ConfigError, MatrixError, ModelLoadError
from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text
from .backbone import (
    BackboneConfig,
    apply_training_settings,
    hidden_size,
    load_backbone,
    load_base,
    load_tokenizer,
    resolve_source,
    source_dir,
)
from .builtins import TINY_QWEN3
from .heads import RewardHeads
from .packed_forward import use_packing
from .pooling import backbone_hidden, pool_answer_and_anchor
from .shared_prompt_scoring import packed_raw_scores, padded_embed

if TYPE_CHECKING:
    from ..standards.matrix import StandardsMatrix

FORMAT_VERSION = 1
CONFIG_FILE = "mrrml_config.json"
HEADS_FILE = "heads.safetensors"
NORMALIZATION_FILE = "normalization.json"
MATRIX_FILE = "matrix.yaml"
BACKBONE_DIR = "backbone"
ADAPTER_DIR = "adapter"


@dataclass
class ScoreResult:
    """Scores of N (prompt, answer) pairs, in input order."""

    dimensions: list[str]
    raw: torch.Tensor  # [N, D] head outputs
    normalized: torch.Tensor  # [N, D] (raw - mean) / std
    reward: torch.Tensor  # [N] matrix-weighted sum of normalized scores

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per input: raw and normalised scores by dimension, and the reward."""
        return [
            {
                "scores": dict(zip(self.dimensions, raw)),
                "normalized": dict(zip(self.dimensions, norm)),
                "reward": reward,
            }
            for raw, norm, reward in zip(self.raw.tolist(), self.normalized.tolist(), self.reward.tolist())
        ]


def _is_peft(model: nn.Module) -> bool:
    return hasattr(model, "peft_config")


class RewardModel(nn.Module):
    """One backbone, one linear head per matrix dimension, matrix-weighted reward. Build with :meth:`build`."""

    def __init__(
        self,
        backbone: nn.Module,
        tokenizer: Any,
        matrix: StandardsMatrix,
        heads: RewardHeads,
        backbone_config: BackboneConfig,
        anchor: bool = True,
        max_prompt_tokens: int = 1024,
        max_answer_tokens: int = 512,
    ):
        super().__init__()
        if heads.num_dimensions != len(matrix.dimension_ids):
            raise ConfigError(f"{heads.num_dimensions} heads for {len(matrix.dimension_ids)} matrix dimensions")
        self.backbone = backbone
        self.heads = heads
        self.tokenizer = tokenizer
        self.matrix = matrix
        self.backbone_config = backbone_config
        self.anchor = anchor
        self.encoder = ConversationEncoder(tokenizer, max_prompt_tokens, max_answer_tokens)
        d = heads.num_dimensions
        self.register_buffer("norm_mean", torch.zeros(d))
        self.register_buffer("norm_std", torch.ones(d))

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        backbone: BackboneConfig,
        matrix: StandardsMatrix,
        projection_dim: int | None = None,
        anchor: bool = True,
        max_prompt_tokens: int = 1024,
        max_answer_tokens: int = 512,
        *,
        device: torch.device | str | None = None,
        sharded: bool = False,
        empty: bool = False,
    ) -> RewardModel:
        """A fresh reward model: backbone per :func:`~mrrml.model.backbone.load_backbone` (LoRA and
        quantisation applied; ``device``, ``sharded`` and ``empty`` as there), new heads beside it.

        With ``empty`` the heads too are built on the meta device: an FSDP rank that receives every
        weight from rank 0 (:mod:`mrrml.training.sharding`) allocates nothing it would overwrite."""
        from accelerate import init_empty_weights

        model, tokenizer = load_backbone(backbone, device=device, sharded=sharded, empty=empty)
        with init_empty_weights(include_buffers=False) if empty else nullcontext():
            heads = RewardHeads(len(matrix.dimension_ids), hidden_size(model), projection_dim)
        if not empty:
            heads.to(_device_of(model))
        return cls(model, tokenizer, matrix, heads, backbone, anchor, max_prompt_tokens, max_answer_tokens)

    @property
    def dimensions(self) -> list[str]:
        return list(self.matrix.dimension_ids)

    @property
    def device(self) -> torch.device:
        return self.heads.weight.device

    # ------------------------------------------------------------------ scoring
    def embed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prompt_index: torch.Tensor,
        answer_index: torch.Tensor,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Anchored embeddings ``z`` [B, P] (fp32) from one forward pass."""
        hidden = backbone_hidden(self.backbone, input_ids, attention_mask, position_ids)
        answer, prompt = pool_answer_and_anchor(hidden, prompt_index, answer_index)
        z = self.heads.project(answer)
        return z - self.heads.project(prompt) if self.anchor else z

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prompt_index: torch.Tensor,
        answer_index: torch.Tensor,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Raw per-dimension scores [B, D] (fp32)."""
        return self.heads(self.embed(input_ids, attention_mask, prompt_index, answer_index, position_ids))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store per-dimension score statistics (from a validation set) used by :meth:`normalize`."""
        mean = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std = torch.as_tensor(std, dtype=torch.float32).flatten()
        d = self.heads.num_dimensions
        if mean.numel() != d or std.numel() != d:
            raise ConfigError(f"normalisation needs {d} means and stds, got {mean.numel()} and {std.numel()}")
        if not torch.isfinite(mean).all() or not torch.isfinite(std).all() or (std <= 0).any():
            raise ConfigError(f"normalisation std must be finite and > 0, got mean={mean.tolist()} std={std.tolist()}")
        self.norm_mean.copy_(mean)
        self.norm_std.copy_(std)

    def normalize(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.float() - self.norm_mean.to(scores.device)) / self.norm_std.to(scores.device)

    def weight_vector(self, scenario: str | None = None, discipline: str | None = None) -> torch.Tensor:
        """Matrix weights [D] for a cell (or the mean over applicable cells); unknown ids -> ConfigError."""
        return torch.tensor(self.matrix.weight_vector(scenario, discipline), dtype=torch.float32)

    def reward(self, scores: torch.Tensor, scenario: str | None = None, discipline: str | None = None) -> torch.Tensor:
        """``sum_d w_d * normalize(scores)_d`` [B]."""
        weights = self.weight_vector(scenario, discipline).to(scores.device)
        return self.normalize(scores) @ weights

    def score(
        self,
        prompts: Sequence[Prompt],
        answers: Sequence[str],
        scenario: str | None = None,
        discipline: str | None = None,
        batch_size: int = 16,
        packing: bool = True,
        prune_last_layer: bool = True,
    ) -> ScoreResult:
        """Score N (prompt, answer) pairs; batches are length-sorted to waste little padding.

        With ``packing`` (and an attention implementation that takes a block mask) answers that share a
        prompt (RL groups, best-of-N) are scored together: the prompt runs once and its key/value cache
        serves every answer (:mod:`mrrml.model.packed_forward`); otherwise, or as the logged fallback, one row
        per answer. Scores are the same either way. ``prune_last_layer`` (where the architecture allows)
        runs the last decoder layer only at the pooled positions (:mod:`mrrml.model.last_layer`); it too
        leaves the scores unchanged.
        """
        if len(prompts) != len(answers):
            raise ConfigError(f"score: {len(prompts)} prompts but {len(answers)} answers")
        if batch_size < 1:
            raise ConfigError(f"score: batch_size must be >= 1, got {batch_size}")
        weights = self.weight_vector(scenario, discipline)  # validate ids before any compute
        examples = [self.encoder.encode(p, a) for p, a in zip(prompts, answers)]
        raw = self.raw_scores(examples, batch_size, packing, prune_last_layer)
        normalized = self.normalize(raw)
        return ScoreResult(self.dimensions, raw, normalized, normalized @ weights)

    def raw_scores(
        self,
        examples: Sequence[EncodedExample],
        batch_size: int = 16,
        packing: bool = True,
        prune_last_layer: bool = True,
    ) -> torch.Tensor:
        """Raw head outputs [N, D] of pairs already encoded by :attr:`encoder`, in input order: the
        model part of :meth:`score`. The reward server encodes where it validates a request and runs
        only this on its model thread."""
        if batch_size < 1:
            raise ConfigError(f"score: batch_size must be >= 1, got {batch_size}")
        order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids), reverse=True)
        raw = torch.zeros(len(examples), self.heads.num_dimensions)
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                if packing and use_packing(self.backbone):
                    raw = packed_raw_scores(self, examples, batch_size, prune_last_layer=prune_last_layer)
                else:
                    for start in range(0, len(order), batch_size):
                        rows = order[start : start + batch_size]
                        batch = pad_batch([examples[i] for i in rows], self.tokenizer.pad_token_id, "right")
                        batch = {k: v.to(self.device) for k, v in batch.items()}
                        raw[rows] = self.heads(padded_embed(self, batch, prune_last_layer)).float().cpu()
        finally:
            self.train(was_training)
        return raw

    # ------------------------------------------------------------------ save / load
    def save_pretrained(self, path: str | Path) -> Path:
        """Write the model directory (see module docstring). The config is written last: it marks completion."""
        from safetensors.torch import save

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for stale in (BACKBONE_DIR, ADAPTER_DIR):
            shutil.rmtree(path / stale, ignore_errors=True)
        (path / CONFIG_FILE).unlink(missing_ok=True)

        cfg = self.backbone_config
        backbone_weights: str | None = None
        adapter: str | None = None
        if _is_peft(self.backbone):
            self.backbone.save_pretrained(path / ADAPTER_DIR)
            adapter = ADAPTER_DIR
        if adapter is None and not cfg.quantization:
            # Full fine-tuning (or a frozen full-precision base): the weights themselves are the model.
            self.backbone.save_pretrained(path / BACKBONE_DIR)
            backbone_weights = BACKBONE_DIR
        elif cfg.name_or_path == TINY_QWEN3:
            # A random-init base is only reproducible from its seed on the same torch; ship it instead.
            _copy_checkpoint(source_dir(cfg), path / BACKBONE_DIR)
            backbone_weights = BACKBONE_DIR

        heads = {k: v.detach().float().cpu().contiguous() for k, v in self.heads.state_dict().items()}
        atomic_write_bytes(path / HEADS_FILE, save(heads))
        atomic_write_json(
            path / NORMALIZATION_FILE,
            {
                d: {"mean": m, "std": s}
                for d, m, s in zip(self.dimensions, self.norm_mean.tolist(), self.norm_std.tolist())
            },
        )
        atomic_write_text(path / MATRIX_FILE, self.matrix.to_yaml())
        self.tokenizer.save_pretrained(path)
        atomic_write_json(
            path / CONFIG_FILE,
            {
                "format_version": FORMAT_VERSION,
                "backbone": cfg.to_dict(),
                "backbone_weights": backbone_weights,
                "adapter": adapter,
                "hidden_size": self.heads.hidden_size,
                "projection_dim": self.heads.projection_dim,
                "anchor": self.anchor,
                "dimensions": self.dimensions,
                "encoder": self.encoder.settings(),
            },
        )
        return path

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        trainable: bool = False,
        trust_remote_code: bool = False,
        dequantize: bool | None = None,
    ) -> RewardModel:
        """Load a saved model directory. ``dtype`` overrides the backbone dtype; ``trainable`` keeps the
        adapter trainable (to continue training) instead of returning an eval-mode model.

        A model trained with ``quantization`` (QLoRA) loads quantised by default, as it trained. With
        ``dequantize=True`` its adapter goes over the unquantised base instead (``dtype``, or the
        config's compute dtype): the model every export and every device other than bitsandbytes'
        needs, since 4-bit layers can neither be merged into plain weights nor moved. Its scores then
        differ from the quantised model's by the base's NF4 rounding error, the usual price of merging
        a QLoRA adapter. ``dequantize=None`` (the default) dequantises exactly when ``device`` is
        given, so ``load(path, device="cpu")`` works for every model.

        A model directory may come from someone else, so it cannot switch on ``trust_remote_code`` by
        itself: only the caller can (``trust_remote_code=True``, the CLI's ``--trust_remote_code true``)."""
        path = Path(path)
        config = _read_config(path)
        matrix = _read_matrix(path, config)
        # Validate the small files before the (slow) backbone load.
        heads = RewardHeads(len(config["dimensions"]), config["hidden_size"], config["projection_dim"])
        _load_heads(path / HEADS_FILE, heads)
        mean, std = _read_normalization(path / NORMALIZATION_FILE, config["dimensions"])
        try:
            cfg = BackboneConfig.from_dict(config["backbone"], where=f"{path / CONFIG_FILE}: backbone")
        except ConfigError as exc:
            raise ModelLoadError(str(exc)) from exc
        if cfg.trust_remote_code and not trust_remote_code:
            raise ModelLoadError(
                f"{path / CONFIG_FILE}: backbone.trust_remote_code is true, which would run code "
                "shipped in the model; pass trust_remote_code=True (on the command line: --trust_remote_code true) "
                "only for a model you trust"
            )
        cfg = replace(cfg, trust_remote_code=trust_remote_code)
        if cfg.quantization and (dequantize or (dequantize is None and device is not None)):
            cfg = replace(cfg, quantization=None)
        if dtype is not None:
            cfg = replace(cfg, dtype=_dtype_name(dtype))
        if config["backbone_weights"]:
            source, gguf_file = str(_require_dir(path, config["backbone_weights"])), None
        else:
            source, gguf_file = resolve_source(cfg)
        base = load_base(source, cfg, gguf_file)
        if trainable:  # checkpointing / k-bit preparation, then the saved adapter instead of a new one
            base = apply_training_settings(base, replace(cfg, lora=None))
        if config["adapter"]:
            from peft import PeftModel

            adapter_dir = _require_dir(path, config["adapter"])
            backbone = PeftModel.from_pretrained(base, adapter_dir, is_trainable=trainable)
        else:
            backbone = base
        if hidden_size(backbone) != config["hidden_size"]:
            raise ModelLoadError(
                f"{path / CONFIG_FILE}: hidden_size {config['hidden_size']} does not match the "
                f"backbone's {hidden_size(backbone)}"
            )
        tokenizer = load_tokenizer(str(path), cfg)
        encoder = config["encoder"]
        model = cls(
            backbone,
            tokenizer,
            matrix,
            heads,
            cfg,
            bool(config["anchor"]),
            int(encoder["max_prompt_tokens"]),
            int(encoder["max_answer_tokens"]),
        )
        model.set_normalization(mean, std)
        # Not model.to(): a bitsandbytes backbone must stay where it was placed; move only our own tensors.
        model.heads.to(_device_of(backbone))
        model.norm_mean = model.norm_mean.to(_device_of(backbone))
        model.norm_std = model.norm_std.to(_device_of(backbone))
        if device is not None:
            if cfg.quantization:
                raise ConfigError(
                    "device: a quantised backbone stays on the device bitsandbytes placed it on; "
                    "load with dequantize=True to move the model"
                )
            model.to(device)
        if not trainable:
            model.eval()
            model.requires_grad_(False)
        return model


def load(
    path: str | Path,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
    dequantize: bool | None = None,
) -> RewardModel:
    """Load a saved reward model directory (``mrrml.load``); see :meth:`RewardModel.from_pretrained`."""
    return RewardModel.from_pretrained(
        path, device=device, dtype=dtype, trust_remote_code=trust_remote_code, dequantize=dequantize
    )


# ---------------------------------------------------------------------- helpers
def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _dtype_name(dtype: str | torch.dtype) -> str:
    if isinstance(dtype, str):
        return dtype  # BackboneConfig validates the name
    names = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}
    if dtype not in names:
        raise ConfigError(f"dtype: unsupported {dtype}; use one of {sorted(names.values())}")
    return names[dtype]


def _copy_checkpoint(source: Path | None, target: Path) -> None:
    if source is None:
        raise ModelLoadError("no local checkpoint to copy for the backbone base")
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name == "config.json" or item.suffix == ".safetensors" or item.name.endswith(".safetensors.index.json"):
            shutil.copy2(item, target / item.name)


def _require_dir(path: Path, name: str) -> Path:
    target = path / name
    if not target.is_dir() or not any(target.iterdir()):
        raise ModelLoadError(f"{target}: missing or empty (named in {path / CONFIG_FILE})")
    return target


_CONFIG_KEYS = (
    "format_version",
    "backbone",
    "backbone_weights",
    "adapter",
    "hidden_size",
    "projection_dim",
    "anchor",
    "dimensions",
    "encoder",
)


def _read_json(file: Path) -> Any:
    if not file.is_file():
        raise ModelLoadError(f"{file}: missing (not an mrrml model directory, or an interrupted save)")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{file}: not valid JSON: {exc}") from exc


def _read_config(path: Path) -> dict[str, Any]:
    file = path / CONFIG_FILE
    config = _read_json(file)
    if not isinstance(config, dict):
        raise ModelLoadError(f"{file}: expected a JSON object")
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        raise ModelLoadError(f"{file}: missing keys {missing}")
    if config["format_version"] != FORMAT_VERSION:
        raise ModelLoadError(
            f"{file}: format_version {config['format_version']!r} is not supported (this mrrml reads {FORMAT_VERSION})"
        )
    checks = {
        "backbone": isinstance(config["backbone"], dict),
        "backbone_weights": config["backbone_weights"] is None or isinstance(config["backbone_weights"], str),
        "adapter": config["adapter"] is None or isinstance(config["adapter"], str),
        "hidden_size": _positive_int(config["hidden_size"]),
        "projection_dim": config["projection_dim"] is None or _positive_int(config["projection_dim"]),
        "anchor": isinstance(config["anchor"], bool),
        "dimensions": isinstance(config["dimensions"], list)
        and bool(config["dimensions"])
        and all(isinstance(d, str) for d in config["dimensions"]),
        "encoder": isinstance(config["encoder"], dict)
        and all(_positive_int(config["encoder"].get(k)) for k in ("max_prompt_tokens", "max_answer_tokens")),
    }
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        raise ModelLoadError(f"{file}: invalid values for keys {bad}")
    return config


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _read_matrix(path: Path, config: dict[str, Any]) -> StandardsMatrix:
    from ..standards.loader import load_matrix

    file = path / MATRIX_FILE
    if not file.is_file():
        raise ModelLoadError(f"{file}: missing")
    try:
        matrix = load_matrix(file)
    except MatrixError as exc:
        raise ModelLoadError(f"{file}: invalid standards matrix:\n{exc}") from exc
    if list(matrix.dimension_ids) != list(config["dimensions"]):
        raise ModelLoadError(
            f"{file}: dimensions {matrix.dimension_ids} do not match {path / CONFIG_FILE} "
            f"dimensions {config['dimensions']}"
        )
    return matrix


def _load_heads(file: Path, heads: RewardHeads) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not file.is_file():
        raise ModelLoadError(f"{file}: missing")
    try:
        state = load_file(file)
    except (SafetensorError, OSError) as exc:
        raise ModelLoadError(f"{file}: unreadable safetensors: {exc}") from exc
    expected = {k: tuple(v.shape) for k, v in heads.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        raise ModelLoadError(
            f"{file}: tensors {found} do not match the configured heads {expected} "
            "(dimension count or projection size differs)"
        )
    heads.load_state_dict(state)


def _read_normalization(file: Path, dimensions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    data = _read_json(file)
    if not isinstance(data, dict) or sorted(data) != sorted(dimensions):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ModelLoadError(f"{file}: expected entries for dimensions {dimensions}, found {keys}")
    try:
        mean = torch.tensor([float(data[d]["mean"]) for d in dimensions])
        std = torch.tensor([float(data[d]["std"]) for d in dimensions])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{file}: each dimension needs numeric 'mean' and 'std': {exc}") from exc
    if not torch.isfinite(mean).all() or not torch.isfinite(std).all() or (std <= 0).any():
        raise ModelLoadError(f"{file}: std must be finite and > 0")
    return mean, std
