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

Scoring (no gradients) has a cheaper way to share a prompt: run the prompt once, keep its keys and
values, and run its answers as a batch on top of that cache (:func:`packed_raw_scores` with the
default ``strategy="prefix"``). A packed row's attention is dense over the whole row, most of it
masked; the cache path computes only what each answer attends to. Training keeps the packed rows: one
forward and one backward through a single graph.
"""
from __future__ import annotations

import logging
from typing import Any, Literal, Sequence

import torch
import transformers
from torch import nn

from ..data.collate import EncodedExample, pad_batch
from ..data.packing import (PackingError, block_attention_mask, examples_from_batch, group_by_prompt,
                            pack_examples, packed_length)
from ..errors import ConfigError

log = logging.getLogger(__name__)

# Attention implementations that accept an arbitrary 4-D mask, and the mask format each one reads.
MASK_FORMATS: dict[str, str] = {"sdpa": "bool", "eager": "additive"}
_warned: set[int] = set()
# transformers 5 renamed ``past_key_values`` (argument and output field) to ``cache``.
_CACHE_KEY = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"


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
    fmt = MASK_FORMATS.get(implementation)
    if fmt is None:
        raise PackingError(f"attention implementation {implementation!r} cannot take an arbitrary 4-D attention "
                           f"mask; packing needs one of {sorted(MASK_FORMATS)}")
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


def embed_batch(model: Any, batch: dict[str, torch.Tensor], packing: bool = True) -> torch.Tensor:
    """``z`` of a collated (padded, one row per answer) batch; rows sharing a prompt are re-packed.

    The result has the batch's row order, so index maps built for the unpacked batch (good/poor/...
    rows of the training collate) index it unchanged. Falls back to the batch as it is (logging why)
    when the backbone's attention cannot take the block mask, and keeps it as it is when no two rows
    share a prompt (nothing to save; the plain causal path is faster than a block mask).
    """
    if use_packing(model.backbone, packing):
        examples = examples_from_batch(batch)
        groups = group_by_prompt(examples)
        if len(groups) < len(examples):
            packed = pack_examples(examples, model.tokenizer.pad_token_id, "right", groups=groups)
            return packed_embed(model, {k: v.to(batch["input_ids"].device) for k, v in packed.items()})
    return model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"],
                       position_ids=batch.get("position_ids"))


def grouped_batches(examples: Sequence[EncodedExample], batch_size: int,
                    max_tokens: int | None = None) -> list[list[list[int]]]:
    """Scoring batches: prompt groups (packed rows), longest first, at most ``batch_size`` answers per batch.

    Length-sorting rows keeps padding low; a group larger than ``batch_size`` is split (its prompt is
    then encoded once per piece).
    """
    groups = group_by_prompt(examples, max_answers=batch_size, max_tokens=max_tokens)
    groups.sort(key=lambda g: packed_length(examples, g), reverse=True)
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


def _prefix_shared_embed(model: Any, examples: Sequence[EncodedExample],
                         groups: Sequence[Sequence[int]]) -> torch.Tensor:
    """``z`` of the answers of ``groups`` (in group order): each prompt runs once, and its keys/values
    serve every answer to it.

    For inference this beats a packed row: a packed row's attention is dense over the whole row
    (``(q + n·a)²`` query-key pairs, most of them masked), while here each answer token attends only to
    its prompt's cached keys and its own answer (``n·a·(q + a)``). Prompts are right-padded in the first
    pass (pad queries still see real tokens, so no softmax row is empty and no NaN reaches the cache);
    each answer's mask then covers its prompt's real tokens and its own tokens, and its positions
    continue right after its prompt, exactly as in the answer's own sequence.
    """
    device = model.device
    pad_id = model.tokenizer.pad_token_id
    prompt_lens = [examples[g[0]].prompt_last + 1 for g in groups]
    width_q = max(prompt_lens)
    prompt_ids = torch.full((len(groups), width_q), pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((len(groups), width_q), dtype=torch.long)
    for row, (group, length) in enumerate(zip(groups, prompt_lens)):
        prompt_ids[row, :length] = torch.tensor(examples[group[0]].input_ids[:length], dtype=torch.long)
        prompt_mask[row, :length] = 1
    first = model.backbone(input_ids=prompt_ids.to(device), attention_mask=prompt_mask.to(device), use_cache=True,
                           return_dict=True)
    cache = getattr(first, _CACHE_KEY)

    owner = [g for g, group in enumerate(groups) for _ in group]           # answer row -> its prompt
    answers = [examples[i].input_ids[prompt_lens[g]:] for g, group in enumerate(groups) for i in group]
    width_a = max(len(a) for a in answers)
    ids = torch.full((len(answers), width_a), pad_id, dtype=torch.long)
    answer_mask = torch.zeros((len(answers), width_a), dtype=torch.long)
    positions = torch.zeros((len(answers), width_a), dtype=torch.long)
    for row, (answer, g) in enumerate(zip(answers, owner)):
        ids[row, :len(answer)] = torch.tensor(answer, dtype=torch.long)
        answer_mask[row, :len(answer)] = 1
        positions[row] = torch.arange(prompt_lens[g], prompt_lens[g] + width_a)
    owner_index = torch.tensor(owner, dtype=torch.long, device=device)
    cache.batch_select_indices(owner_index)
    mask = torch.cat([prompt_mask[owner_index.cpu()], answer_mask], dim=1)
    out = model.backbone(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                         use_cache=True, return_dict=True, **{_CACHE_KEY: cache})
    rows = torch.arange(len(answers), device=device)
    last = torch.tensor([len(a) - 1 for a in answers], device=device)
    answer_z = model.heads.project(out.last_hidden_state[rows, last])
    if not model.anchor:
        return answer_z
    anchors = first.last_hidden_state[torch.arange(len(groups), device=device),
                                      torch.tensor(prompt_lens, device=device) - 1]
    return answer_z - model.heads.project(anchors)[owner_index]


@torch.inference_mode()
def packed_raw_scores(model: Any, examples: Sequence[EncodedExample], batch_size: int = 16,
                      max_tokens: int | None = None,
                      strategy: Literal["prefix", "packed"] = "prefix") -> torch.Tensor:
    """Raw scores [N, D] of encoded examples, every prompt encoded once per batch it appears in.

    Shared prompts run either through the prompt's key/value cache (``prefix``, the default: no wasted
    attention) or as packed block-masked rows (``packed``, the training layout). A batch in which no
    prompt is shared runs as plain padded rows: there is nothing to share, and without a block mask the
    attention kernel can use its causal fast path.
    """
    if strategy not in ("prefix", "packed"):
        raise ConfigError(f"strategy must be 'prefix' or 'packed', got {strategy!r}")
    raw = torch.zeros(len(examples), model.heads.num_dimensions)
    pad_id = model.tokenizer.pad_token_id
    device = model.device
    for batch_groups in grouped_batches(examples, batch_size, max_tokens):
        members = [i for g in batch_groups for i in g]
        sub = [examples[i] for i in members]
        if all(len(g) == 1 for g in batch_groups):
            batch = {k: v.to(device) for k, v in pad_batch(sub, pad_id, "right").items()}
            z = model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"])
        else:
            local = {i: n for n, i in enumerate(members)}
            groups = [[local[i] for i in g] for g in batch_groups]
            if strategy == "prefix":
                z = _prefix_shared_embed(model, sub, groups)
            else:
                packed = pack_examples(sub, pad_id, "right", groups=groups)
                z = packed_embed(model, {k: v.to(device) for k, v in packed.items()})
        raw[members] = model.heads(z).float().cpu()
    return raw
