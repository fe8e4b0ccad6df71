"""The packed forward: answers sharing a prompt run as ONE sequence with a block attention mask.

This is the training layout. :mod:`mrrml.data.packing` builds the rows (``q ⊕ a1 ⊕ ... ⊕ an``,
positions restarting after ``q``, segment ids); this module turns the segments into the 4-D mask the
backbone's attention takes, runs the backbone once, and pools per answer
``z = f(h[answer_last]) - f(h[prompt_last])`` where the anchor ``h[prompt_last]`` is read once per row
and shared by every answer of that prompt. One forward and one backward go through a single graph.

Transformers passes a 4-D ``attention_mask`` straight to the attention function (its mask builder
returns 4-D masks unchanged), so the format must be the one that function reads: ``sdpa`` takes a
boolean mask (True = attend), ``eager`` ADDS the mask to the attention logits, so it needs 0 / the
dtype's minimum. Kernels that only know causal or varlen attention (``flash_attention_2/3``, paged
and hub kernels) cannot express "each answer sees the prompt and itself"; there the callers fall back
to the unpacked path and say why in the log (:func:`packing_unsupported_reason`).

Scoring, which needs no gradients, shares prompts more cheaply through a key/value cache
(:mod:`mrrml.model.shared_prompt_scoring`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import torch
from torch import nn

from ..data.encoder import EncodedExample
from ..data.packing import (
    PackingError,
    block_attention_mask,
    examples_from_batch,
    group_by_prompt,
    pack_examples,
    packed_length,
)
from ..errors import ConfigError
from .backbone import attention_implementation
from .heads import RewardHeads
from .optional_speedups import optional_speedup


class AnchoredEmbedder(Protocol):
    """What the training layout reads from a model: a :class:`~mrrml.model.reward_model.RewardModel`,
    or the feature cache's extractor (the same backbone under projection-free heads, borrowing
    ``RewardModel.embed``)."""

    backbone: nn.Module
    tokenizer: Any
    heads: RewardHeads
    anchor: bool
    embed: Callable[..., torch.Tensor]


# Attention implementations that accept an arbitrary 4-D mask, and the mask format each one reads.
MASK_FORMATS: dict[str, str] = {"sdpa": "bool", "eager": "additive"}


def packing_unsupported_reason(backbone: nn.Module) -> str | None:
    """Why the packed path cannot run on ``backbone`` (None when it can)."""
    impl = attention_implementation(backbone)
    if impl not in MASK_FORMATS:
        return (
            f"attention implementation {impl!r} cannot take an arbitrary 4-D attention mask (it only knows "
            f"causal/varlen attention), so prompt-shared packing is off; use one of {sorted(MASK_FORMATS)} "
            "to pack"
        )
    if not getattr(getattr(backbone, "config", None), "is_causal", True):
        return "the backbone is not causal, so the prompt's last token would see the answers; packing is off"
    return None


def use_packing(backbone: nn.Module, requested: bool = True, level: int = logging.WARNING) -> bool:
    """Whether to pack; logs the reason (once per backbone and reason, at ``level``) when packing was
    requested but cannot run."""
    return optional_speedup(backbone, requested, packing_unsupported_reason, level)


def attention_mask_4d(segment_ids: torch.Tensor, implementation: str, dtype: torch.dtype) -> torch.Tensor:
    """The block mask in the format ``implementation`` reads (see module docstring)."""
    fmt = MASK_FORMATS.get(implementation)
    if fmt is None:
        raise PackingError(
            f"attention implementation {implementation!r} cannot take an arbitrary 4-D attention "
            f"mask; packing needs one of {sorted(MASK_FORMATS)}"
        )
    allowed = block_attention_mask(segment_ids)
    if fmt == "bool":
        return allowed
    additive = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return additive.masked_fill_(~allowed, torch.finfo(dtype).min)


def _compute_dtype(backbone: nn.Module) -> torch.dtype:
    embeddings = backbone.get_input_embeddings() if hasattr(backbone, "get_input_embeddings") else None
    weight = getattr(embeddings, "weight", None)
    return weight.dtype if weight is not None and weight.is_floating_point() else torch.float32


def packed_hidden(backbone: nn.Module, packed: dict[str, torch.Tensor]) -> torch.Tensor:
    """Last-layer hidden states [R, T, H] of packed rows (block mask + restarted positions)."""
    impl = attention_implementation(backbone)
    device = packed["input_ids"].device
    mask = attention_mask_4d(packed["segment_ids"].to(device), impl, _compute_dtype(backbone))
    out = backbone(
        input_ids=packed["input_ids"],
        attention_mask=mask,
        position_ids=packed["position_ids"],
        use_cache=False,
        return_dict=True,
    )
    return out.last_hidden_state


def packed_embed(model: AnchoredEmbedder, packed: dict[str, torch.Tensor]) -> torch.Tensor:
    """Anchored embeddings ``z`` [N, P] (fp32), one per packed example, in the examples' input order."""
    hidden = packed_hidden(model.backbone, packed)
    rows = packed["row_index"].to(hidden.device)
    answer = model.heads.project(hidden[rows, packed["answer_index"].to(hidden.device)])
    if not model.anchor:
        return answer
    return answer - model.heads.project(hidden[rows, packed["prompt_index"].to(hidden.device)])


Packing = bool | Literal["auto"]
_PACKING_COSTS_MORE = (
    "prompt-shared packing is estimated to cost more than one row per answer for this "
    "backbone and these lengths (attention over a packed row is dense over all of it, and "
    "here that outweighs encoding the prompt once), so such batches run unpacked; "
    "packing=True forces it"
)


def layer_costs(config: Any) -> tuple[int, int] | None:
    """Multiply-adds of one decoder layer: ``(per token, per attended query-key pair)``, from the
    config's sizes (q/k/v/o projections and a gated MLP, as in Qwen, Llama and Mistral; QKᵀ and AV).
    Other MLPs are counted as if gated, which only moves the estimate towards packing. A
    multimodal config is read through its ``text_config``. None when a size is missing."""
    config = getattr(config, "text_config", None) or config
    hidden = getattr(config, "hidden_size", None)
    mlp = getattr(config, "intermediate_size", None)
    heads = getattr(config, "num_attention_heads", None)
    if not (isinstance(hidden, int) and isinstance(mlp, int) and isinstance(heads, int)) or heads < 1:
        return None
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    q_width, kv_width = heads * head_dim, kv_heads * head_dim
    per_token = 2 * hidden * q_width + 2 * hidden * kv_width + 3 * hidden * mlp
    return per_token, 2 * q_width


def packing_saves_work(
    backbone: nn.Module, examples: Sequence[EncodedExample], groups: Sequence[Sequence[int]]
) -> bool:
    """Whether packed rows cost fewer multiply-adds than one padded row per answer.

    Both layouts are padded to their longest row, and both run their attention densely over every
    row (a block mask or a padding mask is applied, not skipped), so each costs
    ``rows · (T·per_token + T²·per_pair)``. Packing saves the repeated prompts' per-token work and
    pays a longer T. A wide model with short answers wins; a narrow one with long answers (the demo's
    tiny model) loses. The estimate against measured step times is in docs/benchmarks.md
    (``benchmarks/train_throughput.py``). Unknown sizes: pack.
    """
    costs = layer_costs(getattr(backbone, "config", None))
    if costs is None:
        return True
    per_token, per_pair = costs

    def work(lengths: list[int]) -> int:
        longest = max(lengths)
        return len(lengths) * (longest * per_token + longest * longest * per_pair)

    return work([packed_length(examples, g) for g in groups]) < work([len(e.input_ids) for e in examples])


def check_packing(packing: Any) -> Packing:
    """``packing`` if it is one of True, False, "auto"; else a ConfigError naming the choices."""
    if isinstance(packing, bool) or packing == "auto":
        return packing
    raise ConfigError(f"packing: expected true, false or 'auto', got {packing!r}")


def embed_batch(model: AnchoredEmbedder, batch: dict[str, torch.Tensor], packing: Packing = True) -> torch.Tensor:
    """``z`` of a collated (padded, one row per answer) batch; rows sharing a prompt are re-packed.

    The result has the batch's row order, so index maps built for the unpacked batch (good/poor/...
    rows of the training collate) index it unchanged. Falls back to the batch as it is (logging why)
    when the backbone's attention cannot take the block mask, and keeps it as it is when no two rows
    share a prompt (nothing to save; the plain causal path is faster than a block mask). With
    ``packing="auto"`` a batch is packed only where :func:`packing_saves_work` says it pays.
    """
    # A request the user made (True) is declined with a warning; the default's choice ("auto") at INFO.
    level = logging.WARNING if packing is True else logging.INFO
    if use_packing(model.backbone, check_packing(packing) is not False, level):
        examples = examples_from_batch(batch)
        groups = group_by_prompt(examples)
        if len(groups) < len(examples) and (
            packing is True
            or optional_speedup(
                model.backbone,
                True,
                lambda backbone: None if packing_saves_work(backbone, examples, groups) else _PACKING_COSTS_MORE,
                level,
            )
        ):
            packed = pack_examples(examples, model.tokenizer.pad_token_id, "right", groups=groups)
            return packed_embed(model, {k: v.to(batch["input_ids"].device) for k, v in packed.items()})
    return model.embed(
        batch["input_ids"],
        batch["attention_mask"],
        batch["prompt_index"],
        batch["answer_index"],
        position_ids=batch.get("position_ids"),
    )
