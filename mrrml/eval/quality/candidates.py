"""Every answer a quality evaluation scores, laid out ``[record, level, form]``, and its scores.

Levels are the record's good, medium and poor answers (true quality 2, 1, 0 by construction); form 0
is the answer as written and form ``1 + k`` its variant of kind ``kinds[k]``
(:mod:`mrrml.eval.quality.variants`), which keeps its source's quality. Absent cells (no medium
answer, a variant kind not applied) are None in :class:`Candidates` and NaN in a score table.

Scoring is one ``model.score`` call over the distinct (prompt, answer) pairs of the whole set:
the answers of one record share a prompt, so the prompt-shared path encodes each prompt once for its
up to 15 answers. The same raw and normalised head scores give both views of the report: ``head``
(the record's own dimension head, the score its triplet labels speak about) and ``reward`` (the
matrix-weighted reward of the record's (scenario, discipline) cell, what a policy is optimised on).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...data.chat import Prompt
from ...data.records import TripletRecord
from .variants import make_variant

LEVELS = ("good", "medium", "poor")
QUALITY = (2.0, 1.0, 0.0)
"""True quality of each level; a variant keeps the quality of the answer it was made from."""
VIEWS = ("head", "reward")


def prompt_key(prompt: Prompt) -> str:
    """A hashable form of a prompt: the resampling unit of the bootstrap and the de-duplication key."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)


@dataclass
class Candidates:
    """The answers of a test set: ``texts[record][level][form]`` (None where absent)."""

    records: list[TripletRecord]
    kinds: tuple[str, ...]
    texts: list[list[list[str | None]]]

    @property
    def forms(self) -> tuple[str, ...]:
        return ("as_written", *self.kinds)

    def mask(self) -> np.ndarray:
        """[N, 3, F] True where an answer exists."""
        return np.array([[[t is not None for t in level] for level in rec] for rec in self.texts], dtype=bool).reshape(
            len(self.records), len(LEVELS), len(self.forms)
        )

    def quality(self) -> np.ndarray:
        """[N, 3, F] true quality (NaN where absent): the oracle's scores."""
        table = np.broadcast_to(np.array(QUALITY)[None, :, None], self.mask().shape).copy()
        table[~self.mask()] = np.nan
        return table

    def clusters(self) -> list[str]:
        return [prompt_key(r.prompt) for r in self.records]

    def groups(self, dimensions: Sequence[str]) -> dict[str, np.ndarray]:
        """Record indices per dimension (in ``dimensions`` order, those with records) and ``"all"``."""
        dims = np.array([r.dimension for r in self.records])
        out = {d: np.flatnonzero(dims == d) for d in dimensions if (dims == d).any()}
        return {**out, "all": np.arange(len(self.records))}


def build_candidates(
    records: Sequence[TripletRecord], kinds: Sequence[str], seed: int, operators: dict[str, str]
) -> Candidates:
    """Answers and their variants for ``records``; ``operators`` maps a dimension id to its
    ``template_operator`` (it decides where a kind applies)."""
    texts = []
    for record in records:
        row = []
        for level in LEVELS:
            answer = getattr(record, level)
            variants = [
                make_variant(
                    answer,
                    kind,
                    key=record.id,
                    seed=seed,
                    prompt=record.prompt,
                    operator=operators.get(record.dimension),
                )
                if answer is not None
                else None
                for kind in kinds
            ]
            row.append([answer, *variants])
        texts.append(row)
    return Candidates(list(records), tuple(kinds), texts)


@dataclass
class ScoredCandidates:
    """Score tables [N, 3, F] of one set under both views, and how many distinct answers were scored."""

    candidates: Candidates
    tables: dict[str, np.ndarray]
    answers_scored: int


def score_candidates(model, candidates: Candidates, batch_size: int = 16) -> ScoredCandidates:
    """Score every distinct (prompt, answer) of ``candidates`` with one ``model.score`` call."""
    index: dict[tuple[str, str], int] = {}
    prompts: list[Prompt] = []
    answers: list[str] = []
    slots: list[tuple[int, int, int, int]] = []
    for n, (record, row) in enumerate(zip(candidates.records, candidates.texts)):
        key = prompt_key(record.prompt)
        for level, forms in enumerate(row):
            for form, text in enumerate(forms):
                if text is None:
                    continue
                if (key, text) not in index:
                    index[key, text] = len(answers)
                    prompts.append(record.prompt)
                    answers.append(text)
                slots.append((n, level, form, index[key, text]))
    shape = (len(candidates.records), len(LEVELS), len(candidates.forms))
    tables = {view: np.full(shape, np.nan) for view in VIEWS}
    if answers:
        result = model.score(prompts, answers, batch_size=batch_size)
        raw = result.raw.double().numpy()
        normalized = result.normalized.double().numpy()
        column = {d: i for i, d in enumerate(result.dimensions)}
        weights: dict[tuple[str, str], np.ndarray] = {}
        for n, level, form, u in slots:
            record = candidates.records[n]
            cell = (record.scenario, record.discipline)
            if cell not in weights:
                weights[cell] = model.weight_vector(*cell).double().numpy()
            tables["head"][n, level, form] = raw[u, column[record.dimension]]
            tables["reward"][n, level, form] = normalized[u] @ weights[cell]
    return ScoredCandidates(candidates, tables, len(answers))
