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

Scoring also prunes the last decoder layer to the pooled positions (:mod:`mrrml.model.last_layer`):
only the answer's and the prompt's last tokens are read from it, so only they run its query, attention,
output projection and MLP (``prune_last_layer=False`` turns that off).
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Literal, Sequence, Union

import torch
import transformers
from torch import nn

from ..data.collate import EncodedExample, pad_batch
from ..data.packing import (PackingError, block_attention_mask, examples_from_batch, group_by_prompt,
                            pack_examples, packed_length)
from ..errors import ConfigError
from . import last_layer
from .backbone import attention_implementation, optional_speedup


# Attention implementations that accept an arbitrary 4-D mask, and the mask format each one reads.
MASK_FORMATS: dict[str, str] = {"sdpa": "bool", "eager": "additive"}
# Answers scored on a shared prompt's cache run in length buckets whose rows are at least this fraction
# of the bucket's longest (see length_buckets).
ANSWER_BUCKET_FILL = 0.75
# transformers 5 renamed ``past_key_values`` (argument and output field) to ``cache``.
_CACHE_KEY = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"


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


def use_packing(backbone: nn.Module, requested: bool = True, level: int = logging.WARNING) -> bool:
    """Whether to pack; logs the reason (once per backbone and reason, at ``level``) when packing was
    requested but cannot run."""
    return optional_speedup(backbone, requested, packing_unsupported_reason, level)


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


Packing = Union[bool, Literal["auto"]]
_PACKING_COSTS_MORE = ("prompt-shared packing is estimated to cost more than one row per answer for this "
                       "backbone and these lengths (attention over a packed row is dense over all of it, and "
                       "here that outweighs encoding the prompt once), so such batches run unpacked; "
                       "packing=True forces it")


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


def packing_saves_work(backbone: nn.Module, examples: Sequence[EncodedExample],
                       groups: Sequence[Sequence[int]]) -> bool:
    """Whether packed rows cost fewer multiply-adds than one padded row per answer.

    Both layouts are padded to their longest row, and both run their attention densely over every
    row (a block mask or a padding mask is applied, not skipped), so each costs
    ``rows · (T·per_token + T²·per_pair)``. Packing saves the repeated prompts' per-token work and
    pays a longer T. A wide model with short answers wins (hidden 512, pairs of 256-token answers to
    256-token prompts, ``benchmarks/train_throughput.py``: predicted 1.24×, measured 1.22×); a narrow
    one with long answers loses (the demo's hidden-96 model on its own batches, ~200-token prompts and
    ~420-token answers: predicted 0.48×, measured 0.51×). Unknown sizes: pack.
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


def embed_batch(model: Any, batch: dict[str, torch.Tensor], packing: Packing = True) -> torch.Tensor:
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
        if len(groups) < len(examples) and (packing is True or optional_speedup(
                model.backbone, True,
                lambda backbone: None if packing_saves_work(backbone, examples, groups) else _PACKING_COSTS_MORE,
                level)):
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
                         groups: Sequence[Sequence[int]], prune: bool = True) -> torch.Tensor:
    """``z`` of the answers of ``groups`` (in group order): each prompt runs once, and its keys/values
    serve every answer to it.

    For inference this beats a packed row: a packed row's attention is dense over the whole row
    (``(q + n·a)²`` query-key pairs, most of them masked), while here each answer token attends only to
    its prompt's cached keys and its own answer (``n·a·(q + a)``). Prompts are right-padded in the first
    pass (pad queries still see real tokens, so no softmax row is empty and no NaN reaches the cache);
    each answer's mask then covers its prompt's real tokens and its own tokens, and its positions
    continue right after its prompt, exactly as in the answer's own sequence.

    Answers run in length buckets (:func:`length_buckets`), each on its own copy of the prompt cache:
    one padded batch of 8 answers whose lengths vary 3:1 would spend about a third of its work on
    padding; buckets keep that under ``1 - ANSWER_BUCKET_FILL``. Rows never interact, so buckets do
    not change any score.

    With ``prune`` the last decoder layer computes only the pooled positions (the prompt's last token in
    the first pass, the answer's last token in the second; :mod:`mrrml.model.last_layer`); its keys and
    values, and so the cache, still cover every prompt token.
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
    prompt_last = torch.tensor(prompt_lens, device=device) - 1
    with last_layer.prune_last_layer(model.backbone, prompt_last[:, None], enabled=prune):
        first = model.backbone(input_ids=prompt_ids.to(device), attention_mask=prompt_mask.to(device),
                               use_cache=True, return_dict=True)
    cache = getattr(first, _CACHE_KEY)

    owner = [g for g, group in enumerate(groups) for _ in group]           # answer row -> its prompt
    answers = [examples[i].input_ids[prompt_lens[g]:] for g, group in enumerate(groups) for i in group]
    hidden = torch.empty((len(answers), first.last_hidden_state.shape[-1]), dtype=first.last_hidden_state.dtype,
                         device=device)
    buckets = length_buckets([len(a) for a in answers])
    for bucket in buckets:
        # every bucket but the last gets its own copy: running answers appends their keys to the cache
        bucket_cache = cache if bucket is buckets[-1] else copy.deepcopy(cache)
        hidden[bucket] = _answer_pass(model, bucket_cache, [answers[r] for r in bucket], [owner[r] for r in bucket],
                                      prompt_lens, prompt_mask, prune)
    answer_z = model.heads.project(hidden)
    if not model.anchor:
        return answer_z
    anchors = first.last_hidden_state[torch.arange(len(groups), device=device), prompt_last]
    return answer_z - model.heads.project(anchors)[torch.tensor(owner, device=device)]


def length_buckets(lengths: Sequence[int], fill: float = ANSWER_BUCKET_FILL) -> list[list[int]]:
    """Row indices grouped by length, longest first, so that every row of a bucket is at least ``fill``
    times the bucket's longest: a padded batch of them wastes at most ``1 - fill`` of its rows' work."""
    order = sorted(range(len(lengths)), key=lambda r: lengths[r], reverse=True)
    buckets: list[list[int]] = []
    for row in order:
        if buckets and lengths[row] >= fill * lengths[buckets[-1][0]]:
            buckets[-1].append(row)
        else:
            buckets.append([row])
    return buckets


def _answer_pass(model: Any, cache: Any, answers: Sequence[Sequence[int]], owner: Sequence[int],
                 prompt_lens: Sequence[int], prompt_mask: torch.Tensor, prune: bool) -> torch.Tensor:
    """Last-token hidden states [n, H] of ``answers`` run on their prompts' cache (``owner``: prompt row)."""
    device = model.device
    pad_id = model.tokenizer.pad_token_id
    width_a = max(len(a) for a in answers)
    ids = torch.full((len(answers), width_a), pad_id, dtype=torch.long)
    answer_mask = torch.zeros((len(answers), width_a), dtype=torch.long)
    positions = torch.zeros((len(answers), width_a), dtype=torch.long)
    for row, (answer, g) in enumerate(zip(answers, owner)):
        ids[row, :len(answer)] = torch.tensor(answer, dtype=torch.long)
        answer_mask[row, :len(answer)] = 1
        positions[row] = torch.arange(prompt_lens[g], prompt_lens[g] + width_a)
    owner_index = torch.tensor(owner, dtype=torch.long)
    cache.batch_select_indices(owner_index.to(device))
    mask = torch.cat([prompt_mask[owner_index], answer_mask], dim=1)
    rows = torch.arange(len(answers), device=device)
    last = torch.tensor([len(a) - 1 for a in answers], device=device)
    with last_layer.prune_last_layer(model.backbone, last[:, None], enabled=prune):
        out = model.backbone(input_ids=ids.to(device), attention_mask=mask.to(device),
                             position_ids=positions.to(device), use_cache=True, return_dict=True,
                             **{_CACHE_KEY: cache})
    return out.last_hidden_state[rows, last]


def padded_embed(model: Any, batch: dict[str, torch.Tensor], prune: bool = True) -> torch.Tensor:
    """``z`` of padded rows (one answer per row); with ``prune`` the last layer computes only the answer's
    last token and, for the anchor, the prompt's last token."""
    pooled = [batch["answer_index"], batch["prompt_index"]] if model.anchor else [batch["answer_index"]]
    with last_layer.prune_last_layer(model.backbone, torch.stack(pooled, dim=1), enabled=prune):
        return model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"])


@torch.inference_mode()
def packed_raw_scores(model: Any, examples: Sequence[EncodedExample], batch_size: int = 16,
                      max_tokens: int | None = None,
                      strategy: Literal["prefix", "packed"] = "prefix",
                      prune_last_layer: bool = True) -> torch.Tensor:
    """Raw scores [N, D] of encoded examples, every prompt encoded once per batch it appears in.

    Shared prompts run either through the prompt's key/value cache (``prefix``, the default: no wasted
    attention) or as packed block-masked rows (``packed``, the training layout). A batch in which no
    prompt is shared runs as plain padded rows: there is nothing to share, and without a block mask the
    attention kernel can use its causal fast path.

    ``prune_last_layer`` (default on) lets the last decoder layer compute only the pooled positions in
    the ``prefix`` and plain paths (:mod:`mrrml.model.last_layer`; same scores, fewer FLOPs). The
    ``packed`` strategy always runs the full layer, as training does.
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
            z = padded_embed(model, batch, prune_last_layer)
        else:
            local = {i: n for n, i in enumerate(members)}
            groups = [[local[i] for i in g] for g in batch_groups]
            if strategy == "prefix":
                z = _prefix_shared_embed(model, sub, groups, prune=prune_last_layer)
            else:
                packed = pack_examples(sub, pad_id, "right", groups=groups)
                z = packed_embed(model, {k: v.to(device) for k, v in packed.items()})
        raw[members] = model.heads(z).float().cpu()
    return raw
