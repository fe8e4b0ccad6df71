"""The packed forward: answers sharing a prompt run as ONE sequence with a block attention mask.

:mod:`mrrml.data.packing` builds the rows (``q ⊕ a1 ⊕ ... ⊕ an``, positions restarting after ``q``,
segment ids); this module turns the segments into the 4-D mask the backbone's attention takes, runs
the backbone once, and pools per answer ``z = f(h[answer_last]) - f(h[prompt_last])`` where the anchor
``h[prompt_last]`` is read once per row and shared by every answer of that prompt.

Transformers passes a 4-D ``attention_mask`` straight to the attention function (its mask builder
returns 4-D masks unchanged), so the format must be the one that function reads: ``sdpa`` takes a
boolean mask (True = attend), ``eager`` ADDS the mask to the attention logits, so it needs 0 / the
dtype's minimum. Kernels that only know causal or varlen attention (``flash_attention_2/3``, paged
and hub kernels) cannot express "each answer sees the prompt and itself"; there the callers fall back
to the unpacked path and say why in the log (:func:`packing_unsupported_reason`).
"""
from __future__ import annotations

import logging
from typing import Any, Literal, Sequence

import torch
from torch import nn

from ..data.collate import EncodedExample, pad_batch
from ..data.packing import block_attention_mask, group_by_prompt, pack_examples

log = logging.getLogger(__name__)

# Attention implementations that accept an arbitrary 4-D mask, and the mask format each one reads.
MASK_FORMATS: dict[str, str] = {"sdpa": "bool", "eager": "additive"}
_warned: set[int] = set()


def attention_implementation(backbone: nn.Module) -> str:
    """The attention implementation the backbone runs with (``config._attn_implementation``)."""
    config = getattr(backbone, "config", None)
    name = getattr(config, "_attn_implementation", None) or getattr(config, "attn_implementation", None)
    return str(name) if name else "eager"


def packing_unsupported_reason(backbone: nn.Module) -> str | None:
    """Why the packed path cannot run on ``backbone`` (None when it can)."""
    impl = attention_implementation(backbone)
    if impl not in MASK_FORMATS:
        return (f"attention implementation {impl!r} cannot take an arbitrary 4-D attention mask (it only knows "
                f"causal/varlen attention), so prompt-shared packing is off; use one of {sorted(MASK_FORMATS)} "
                "to pack")
    if not getattr(getattr(backbone, "config", None), "is_causal", True):
        return "the backbone is not causal, so the prompt's last token would see the answers; packing is off"
    return None


def use_packing(backbone: nn.Module, requested: bool = True) -> bool:
    """Whether to pack; logs the reason (once per backbone) when packing was requested but cannot run."""
    if not requested:
        return False
    reason = packing_unsupported_reason(backbone)
    if reason is None:
        return True
    if id(backbone) not in _warned:
        _warned.add(id(backbone))
        log.warning("mrrml: %s", reason)
    return False


def attention_mask_4d(segment_ids: torch.Tensor, implementation: str, dtype: torch.dtype) -> torch.Tensor:
    """The block mask in the format ``implementation`` reads (see module docstring)."""
    allowed = block_attention_mask(segment_ids)
    fmt = MASK_FORMATS.get(implementation)
    if fmt is None:
        raise ValueError(packing_unsupported_reason_for(implementation))
    if fmt == "bool":
        return allowed
    additive = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return additive.masked_fill_(~allowed, torch.finfo(dtype).min)


def packing_unsupported_reason_for(implementation: str) -> str:
    return (f"attention implementation {implementation!r} cannot take an arbitrary 4-D attention mask; "
            f"packing needs one of {sorted(MASK_FORMATS)}")


def _compute_dtype(backbone: nn.Module) -> torch.dtype:
    embeddings = backbone.get_input_embeddings() if hasattr(backbone, "get_input_embeddings") else None
    weight = getattr(embeddings, "weight", None)
    return weight.dtype if weight is not None and weight.is_floating_point() else torch.float32


def packed_hidden(backbone: nn.Module, packed: dict[str, torch.Tensor]) -> torch.Tensor:
    """Last-layer hidden states [R, T, H] of packed rows (block mask + restarted positions)."""
    impl = attention_implementation(backbone)
    device = packed["input_ids"].device
    mask = attention_mask_4d(packed["segment_ids"].to(device), impl, _compute_dtype(backbone))
    out = backbone(input_ids=packed["input_ids"], attention_mask=mask, position_ids=packed["position_ids"],
                   use_cache=False, return_dict=True)
    return out.last_hidden_state


def packed_embed(model: Any, packed: dict[str, torch.Tensor]) -> torch.Tensor:
    """Anchored embeddings ``z`` [N, P] (fp32), one per packed example, in the examples' input order.

    ``model`` is a :class:`~mrrml.model.reward_model.RewardModel` (its backbone, heads and anchor flag).
    """
    hidden = packed_hidden(model.backbone, packed)
    rows = packed["row_index"].to(hidden.device)
    answer = model.heads.project(hidden[rows, packed["answer_index"].to(hidden.device)])
    if not model.anchor:
        return answer
    return answer - model.heads.project(hidden[rows, packed["prompt_index"].to(hidden.device)])


def embed_examples(model: Any, examples: Sequence[EncodedExample], packing: bool = True,
                   padding_side: Literal["right", "left"] = "right",
                   max_tokens: int | None = None) -> torch.Tensor:
    """``z`` [N, P] of encoded examples: packed by shared prompt when possible, else one row each."""
    pad_id = model.tokenizer.pad_token_id
    device = model.device
    if use_packing(model.backbone, packing):
        packed = pack_examples(examples, pad_id, padding_side, max_tokens=max_tokens)
        return packed_embed(model, {k: v.to(device) for k, v in packed.items()})
    batch = {k: v.to(device) for k, v in pad_batch(list(examples), pad_id, padding_side).items()}
    return model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"],
                       position_ids=batch.get("position_ids"))


def grouped_batches(examples: Sequence[EncodedExample], batch_size: int,
                    max_tokens: int | None = None) -> list[list[list[int]]]:
    """Scoring batches: prompt groups (packed rows), longest first, at most ``batch_size`` answers per batch.

    Length-sorting rows keeps padding low; a group larger than ``batch_size`` is split (its prompt is
    then encoded once per piece).
    """
    groups = group_by_prompt(examples, max_answers=batch_size, max_tokens=max_tokens)
    length = {id(g): len(examples[g[0]].input_ids) + sum(len(examples[i].input_ids) - examples[i].prompt_last - 1
                                                             for i in g[1:]) for g in groups}
    groups.sort(key=lambda g: length[id(g)], reverse=True)
    batches: list[list[list[int]]] = []
    current: list[list[int]] = []
    count = 0
    for group in groups:
        if current and count + len(group) > batch_size:
            batches.append(current)
            current, count = [], 0
        current.append(group)
        count += len(group)
    if current:
        batches.append(current)
    return batches


@torch.inference_mode()
def packed_raw_scores(model: Any, examples: Sequence[EncodedExample], batch_size: int = 16,
                      max_tokens: int | None = None) -> torch.Tensor:
    """Raw scores [N, D] of encoded examples, every prompt encoded once per batch it appears in."""
    raw = torch.zeros(len(examples), model.heads.num_dimensions)
    pad_id = model.tokenizer.pad_token_id
    for batch_groups in grouped_batches(examples, batch_size, max_tokens):
        members = [i for g in batch_groups for i in g]
        local = {i: n for n, i in enumerate(members)}
        sub = [examples[i] for i in members]
        packed = pack_examples(sub, pad_id, "right", groups=[[local[i] for i in g] for g in batch_groups])
        z = packed_embed(model, {k: v.to(model.device) for k, v in packed.items()})
        raw[members] = model.heads(z).float().cpu()
    return raw
