"""Prompt-shared packing: answers that share a prompt become ONE sequence ``q ⊕ a1 ⊕ ... ⊕ an``.

A triplet, a pair or an RL group of N answers repeats its prompt in every unpacked row; medical
prompts are long multi-turn conversations, so most of the compute goes into encoding the same prompt
again. Packed, the prompt is encoded once. Exactness comes from three pieces built here:

* **segments** — every position carries a segment id: ``PROMPT_SEGMENT`` (0) for the prompt, ``k``
  (1..n) for the k-th answer, ``PAD_SEGMENT`` (-1) for padding. The attention rule is: a token sees
  earlier tokens of its own segment and every earlier prompt token (see :func:`block_attention_mask`),
  so an answer never sees another answer.
* **positions** — each answer's positions restart right after the prompt (``len(q), len(q)+1, ...``),
  exactly the positions the answer has in its own unpacked sequence (rotary embeddings depend on them).
* **index maps** — for every input example (in input order) the packed row it landed in and the
  columns of its prompt's last token and of its own last token, so the pooled embeddings come out in
  the same order as the unpacked path's rows and every index tensor built for that path stays valid.

The hidden state of each token then equals its hidden state in the unpacked sequence (up to float
reduction order), so scores and gradients equal the unpacked path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from ..errors import ConfigError
from .encoder import EncodedExample

PAD_SEGMENT = -1
PROMPT_SEGMENT = 0


class PackingError(ConfigError):
    """Examples that were asked to share a packed row do not share their prompt tokens."""


def prompt_tokens(example: EncodedExample) -> tuple[int, ...]:
    """The rendered prompt's tokens (an exact prefix of ``input_ids`` by the encoder's contract)."""
    return tuple(example.input_ids[: example.prompt_last + 1])


def group_by_prompt(
    examples: Sequence[EncodedExample], max_answers: int | None = None, max_tokens: int | None = None
) -> list[list[int]]:
    """Indices of ``examples`` grouped by identical prompt tokens, in order of first appearance.

    A group is split when it would exceed ``max_answers`` answers or ``max_tokens`` packed tokens
    (prompt + its answers): one packed row's attention is dense over the whole row, so very large
    rows cost more than they save. A single answer longer than the budget still gets its own row.
    """
    if max_answers is not None and max_answers < 1:
        raise ConfigError(f"max_answers must be >= 1, got {max_answers}")
    by_prompt: dict[tuple[int, ...], list[int]] = {}
    for index, example in enumerate(examples):
        by_prompt.setdefault(prompt_tokens(example), []).append(index)
    groups: list[list[int]] = []
    for prompt, members in by_prompt.items():
        current: list[int] = []
        tokens = len(prompt)
        for index in members:
            answer = len(examples[index].input_ids) - len(prompt)
            full = (max_answers is not None and len(current) >= max_answers) or (
                max_tokens is not None and current and tokens + answer > max_tokens
            )
            if full:
                groups.append(current)
                current, tokens = [], len(prompt)
            current.append(index)
            tokens += answer
        groups.append(current)
    return groups


def packed_length(examples: Sequence[EncodedExample], group: Sequence[int]) -> int:
    """Tokens of the packed row of ``group``: the shared prompt once plus every answer."""
    prompt = examples[group[0]].prompt_last + 1
    return prompt + sum(len(examples[i].input_ids) - prompt for i in group)


def examples_from_batch(batch: dict[str, torch.Tensor]) -> list[EncodedExample]:
    """The unpadded examples of a padded batch (``pad_batch`` layout, either padding side).

    Lets a caller that already holds a collated batch (the training loop) pack it without re-tokenising.
    """
    ids, mask = batch["input_ids"].cpu(), batch["attention_mask"].cpu().bool()
    prompt_index, answer_index = batch["prompt_index"].cpu(), batch["answer_index"].cpu()
    examples = []
    for row in range(ids.shape[0]):
        columns = mask[row].nonzero().flatten()
        if columns.numel() == 0:
            raise PackingError(f"batch row {row} has no tokens")
        start, end = int(columns[0]), int(columns[-1]) + 1
        if end - start != columns.numel():
            raise PackingError(f"batch row {row}: padding inside the sequence; expected left or right padding")
        examples.append(
            EncodedExample(
                input_ids=ids[row, start:end].tolist(),
                prompt_last=int(prompt_index[row]) - start,
                answer_last=int(answer_index[row]) - start,
            )
        )
    return examples


def _check_group(examples: Sequence[EncodedExample], group: Sequence[int]) -> int:
    if not group:
        raise PackingError("a packing group is empty")
    first = examples[group[0]]
    shared = prompt_tokens(first)
    for index in group[1:]:
        if prompt_tokens(examples[index]) != shared:
            raise PackingError(
                f"examples {group[0]} and {index} were grouped for packing but their prompt "
                "tokens differ; group only answers to the same prompt"
            )
    for index in group:
        e = examples[index]
        if e.answer_last != len(e.input_ids) - 1 or e.answer_last <= e.prompt_last:
            raise PackingError(
                f"example {index}: answer_last must be the last token and follow the prompt "
                f"(prompt_last={e.prompt_last}, answer_last={e.answer_last}, "
                f"length={len(e.input_ids)})"
            )
    return len(shared)


def pack_examples(
    examples: Sequence[EncodedExample],
    pad_id: int,
    padding_side: Literal["right", "left"] = "right",
    groups: Sequence[Sequence[int]] | None = None,
    max_answers: int | None = None,
    max_tokens: int | None = None,
) -> dict[str, torch.Tensor]:
    """Pack ``examples`` into prompt-shared rows (one row per group; see the module docstring).

    ``groups`` (lists of example indices sharing a prompt) default to :func:`group_by_prompt`; every
    example must appear exactly once. Returns ``input_ids``, ``attention_mask`` (1 = real token),
    ``position_ids``, ``segment_ids`` — all [R, T] — and, per example in input order,
    ``row_index``, ``prompt_index``, ``answer_index`` [N] (columns after padding).
    """
    if not examples:
        raise ConfigError("pack_examples needs at least one example")
    if padding_side not in ("right", "left"):
        raise ConfigError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    if groups is None:
        groups = group_by_prompt(examples, max_answers, max_tokens)
    seen = sorted(i for g in groups for i in g)
    if seen != list(range(len(examples))):
        raise PackingError(f"packing groups must cover each of the {len(examples)} examples exactly once")

    rows: list[tuple[list[int], list[int], list[int]]] = []  # (ids, positions, segments)
    spans: list[tuple[int, int, int]] = [(0, 0, 0)] * len(examples)  # (row, prompt_last, answer_last)
    for row, group in enumerate(groups):
        prompt_len = _check_group(examples, group)
        first = examples[group[0]]
        ids = list(first.input_ids[:prompt_len])
        positions = list(range(prompt_len))
        segments = [PROMPT_SEGMENT] * prompt_len
        for k, index in enumerate(group, start=1):
            answer = examples[index].input_ids[prompt_len:]
            ids.extend(answer)
            positions.extend(range(prompt_len, prompt_len + len(answer)))
            segments.extend([k] * len(answer))
            spans[index] = (row, prompt_len - 1, len(ids) - 1)
        rows.append((ids, positions, segments))

    width = max(len(ids) for ids, _, _ in rows)
    n_rows = len(rows)
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((n_rows, width), dtype=torch.long)
    position_ids = torch.zeros((n_rows, width), dtype=torch.long)
    segment_ids = torch.full((n_rows, width), PAD_SEGMENT, dtype=torch.long)
    offsets = []
    for r, (ids, positions, segments) in enumerate(rows):
        offset = width - len(ids) if padding_side == "left" else 0
        offsets.append(offset)
        cols = slice(offset, offset + len(ids))
        input_ids[r, cols] = torch.tensor(ids, dtype=torch.long)
        attention_mask[r, cols] = 1
        position_ids[r, cols] = torch.tensor(positions, dtype=torch.long)
        segment_ids[r, cols] = torch.tensor(segments, dtype=torch.long)
    row_index = torch.tensor([row for row, _, _ in spans], dtype=torch.long)
    prompt_index = torch.tensor([offsets[row] + p for row, p, _ in spans], dtype=torch.long)
    answer_index = torch.tensor([offsets[row] + a for row, _, a in spans], dtype=torch.long)
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "position_ids": position_ids,
        "segment_ids": segment_ids,
        "row_index": row_index,
        "prompt_index": prompt_index,
        "answer_index": answer_index,
    }


def block_attention_mask(segment_ids: torch.Tensor) -> torch.Tensor:
    """Boolean [R, 1, T, T] mask (True = may attend) of the prompt-shared block structure.

    Query ``i`` may attend key ``j`` when ``j <= i`` and ``j`` is a prompt token or in ``i``'s own
    segment. Padding keys are never attended; a padding query attends only itself, so no softmax row is
    empty (an all-masked row would produce NaN, and NaN times a zero gradient is still NaN).
    """
    query = segment_ids.unsqueeze(2)  # [R, T, 1]
    key = segment_ids.unsqueeze(1)  # [R, 1, T]
    width = segment_ids.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool, device=segment_ids.device).tril()
    visible = (key != PAD_SEGMENT) & ((key == PROMPT_SEGMENT) | (key == query))
    allowed = causal & visible
    pad_query = (query == PAD_SEGMENT) & torch.eye(width, dtype=torch.bool, device=segment_ids.device)
    return (allowed | pad_query).unsqueeze(1)
