"""Scoring with shared prompts: each prompt runs once and its keys/values serve all its answers.

An RL group or a best-of-N set scores many answers to one prompt. Run the prompt once, keep its keys
and values, and run its answers as a batch on top of that cache (:func:`packed_raw_scores` with the
default ``strategy="prefix"``). A packed row's attention (:mod:`mrrml.model.packed_forward`, the
training layout) is dense over the whole row, most of it masked; the cache path computes only what
each answer attends to.

Scoring also prunes the last decoder layer to the pooled positions (:mod:`mrrml.model.last_layer`):
only the answer's and the prompt's last tokens are read from it, so only they run its query, attention,
output projection and MLP (``prune_last_layer=False`` turns that off).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
from transformers.modeling_outputs import BaseModelOutputWithPast

from ..data.encoder import EncodedExample, pad_batch
from ..data.packing import group_by_prompt, pack_examples, packed_length
from ..errors import ConfigError
from . import last_layer
from .packed_forward import packed_embed

if TYPE_CHECKING:
    from .reward_model import RewardModel

# Answers scored on a shared prompt's cache run in length buckets whose rows are at least this fraction
# of the bucket's longest (see length_buckets).
ANSWER_BUCKET_FILL = 0.75
# transformers renamed ``past_key_values`` (argument and output field) to ``cache`` during 5.x (5.17 still
# has the old name): ask the output class which one this version uses.
CACHE_KEY = "cache" if "cache" in {f.name for f in dataclasses.fields(BaseModelOutputWithPast)} else "past_key_values"


def grouped_batches(
    examples: Sequence[EncodedExample], batch_size: int, max_tokens: int | None = None
) -> list[list[list[int]]]:
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


def _prefix_shared_embed(
    model: RewardModel, examples: Sequence[EncodedExample], groups: Sequence[Sequence[int]], prune: bool = True
) -> torch.Tensor:
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
        first = model.backbone(
            input_ids=prompt_ids.to(device), attention_mask=prompt_mask.to(device), use_cache=True, return_dict=True
        )
    cache = getattr(first, CACHE_KEY)

    owner = [g for g, group in enumerate(groups) for _ in group]  # answer row -> its prompt
    answers = [examples[i].input_ids[prompt_lens[g] :] for g, group in enumerate(groups) for i in group]
    hidden = torch.empty(
        (len(answers), first.last_hidden_state.shape[-1]), dtype=first.last_hidden_state.dtype, device=device
    )
    buckets = length_buckets([len(a) for a in answers])
    for bucket in buckets:
        # every bucket but the last gets its own copy: running answers appends their keys to the cache
        bucket_cache = cache if bucket is buckets[-1] else copy.deepcopy(cache)
        hidden[bucket] = _answer_pass(
            model,
            bucket_cache,
            [answers[r] for r in bucket],
            [owner[r] for r in bucket],
            prompt_lens,
            prompt_mask,
            prune,
        )
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


def _answer_pass(
    model: RewardModel,
    cache: Any,
    answers: Sequence[Sequence[int]],
    owner: Sequence[int],
    prompt_lens: Sequence[int],
    prompt_mask: torch.Tensor,
    prune: bool,
) -> torch.Tensor:
    """Last-token hidden states [n, H] of ``answers`` run on their prompts' cache (``owner``: prompt row)."""
    device = model.device
    pad_id = model.tokenizer.pad_token_id
    width_a = max(len(a) for a in answers)
    ids = torch.full((len(answers), width_a), pad_id, dtype=torch.long)
    answer_mask = torch.zeros((len(answers), width_a), dtype=torch.long)
    positions = torch.zeros((len(answers), width_a), dtype=torch.long)
    for row, (answer, g) in enumerate(zip(answers, owner)):
        ids[row, : len(answer)] = torch.tensor(answer, dtype=torch.long)
        answer_mask[row, : len(answer)] = 1
        positions[row] = torch.arange(prompt_lens[g], prompt_lens[g] + width_a)
    owner_index = torch.tensor(owner, dtype=torch.long)
    cache.batch_select_indices(owner_index.to(device))
    mask = torch.cat([prompt_mask[owner_index], answer_mask], dim=1)
    rows = torch.arange(len(answers), device=device)
    last = torch.tensor([len(a) - 1 for a in answers], device=device)
    with last_layer.prune_last_layer(model.backbone, last[:, None], enabled=prune):
        out = model.backbone(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=True,
            return_dict=True,
            **{CACHE_KEY: cache},
        )
    return out.last_hidden_state[rows, last]


def padded_embed(model: RewardModel, batch: dict[str, torch.Tensor], prune: bool = True) -> torch.Tensor:
    """``z`` of padded rows (one answer per row); with ``prune`` the last layer computes only the answer's
    last token and, for the anchor, the prompt's last token."""
    pooled = [batch["answer_index"], batch["prompt_index"]] if model.anchor else [batch["answer_index"]]
    with last_layer.prune_last_layer(model.backbone, torch.stack(pooled, dim=1), enabled=prune):
        return model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"])


@torch.inference_mode()
def packed_raw_scores(
    model: RewardModel,
    examples: Sequence[EncodedExample],
    batch_size: int = 16,
    max_tokens: int | None = None,
    strategy: Literal["prefix", "packed"] = "prefix",
    prune_last_layer: bool = True,
) -> torch.Tensor:
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
