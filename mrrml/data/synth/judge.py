"""The reasoning judge (RM-R1 style): reason criterion by criterion first, then verdicts and scores.

One request grades one answer on EVERY dimension of the matrix. The judge sees the cell, each
dimension's description and level descriptors, the matrix criteria (the dimension's and the
discipline's) with their points and kind under stable ids ``C1, C2, ...``, and the prompt's rubric
(``R1, R2, ...``) when there is one. Its reply is one JSON object whose first field is the reasoning —
so the reasoning is written before any verdict, also under guided decoding, which keeps key order —
then a verdict per criterion and rubric item, then a score from 1 (poor level) to 10 (good level) per
dimension. The judge never learns which answer is meant to be good, medium or poor.

:func:`triplet_verdict` applies the single-attribute property to the scores of good, medium and poor:
the target dimension must be strictly ordered, every other dimension must stay within a tolerance of
the good answer's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...jsonutil import JsonTextError, loads_json_reply
from .prompts import Messages, criterion_line

if TYPE_CHECKING:
    from ...standards.matrix import Criterion, StandardsMatrix

SCORE_MIN, SCORE_MAX = 1, 10
SYSTEM_JUDGE = (
    "You are a strict clinical reviewer. You grade ONE answer to a medical question on every dimension of a "
    "clinical standards matrix. First reason criterion by criterion, quoting the answer where it matters; then "
    "give a verdict for every criterion and rubric item; then score each dimension from 1 (its poor level) to "
    "10 (its good level). Reply with ONE JSON object and nothing else."
)


@dataclass(frozen=True)
class Verdict:
    """The judge's grades of one answer: a score per dimension, met/not met per criterion and rubric item."""

    scores: dict[str, float]
    criteria: dict[str, bool]
    rubric: tuple[bool, ...] | None
    reasoning: str


@dataclass(frozen=True)
class JudgeRequest:
    """A built judge request: the messages, the reply schema, and the criteria behind each id."""

    messages: Messages
    schema: dict[str, Any]
    criteria: dict[str, tuple[str, Criterion]]  # "C3" -> (dimension id, criterion)
    rubric_items: int

    def parse(self, text: str, dimensions: list[str]) -> tuple[Verdict | None, str | None]:
        """``(verdict, None)`` for a complete reply, else ``(None, why it is malformed)``; never raises."""
        try:
            data = loads_json_reply(text)
        except JsonTextError as error:
            return None, f"malformed verdict: not JSON ({error.reason})"
        if not isinstance(data, dict):
            return None, "malformed verdict: JSON is not an object"
        scores, criteria, rubric = data.get("scores"), data.get("criteria"), data.get("rubric", {})
        if not isinstance(scores, dict) or not all(_is_score(scores.get(d)) for d in dimensions):
            return None, f"malformed verdict: scores needs a number {SCORE_MIN}-{SCORE_MAX} for each of {dimensions}"
        if not isinstance(criteria, dict) or not all(isinstance(criteria.get(c), bool) for c in self.criteria):
            return None, "malformed verdict: criteria needs true or false for every criterion id"
        wanted = [f"R{i + 1}" for i in range(self.rubric_items)]
        if not isinstance(rubric, dict) or not all(isinstance(rubric.get(r), bool) for r in wanted):
            return None, "malformed verdict: rubric needs true or false for every rubric item id"
        reasoning = data.get("reasoning")
        return Verdict(
            {d: float(scores[d]) for d in dimensions},
            {c: criteria[c] for c in self.criteria},
            tuple(rubric[r] for r in wanted) if self.rubric_items else None,
            reasoning if isinstance(reasoning, str) else "",
        ), None


def _is_score(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and SCORE_MIN <= value <= SCORE_MAX


def judge_request(
    matrix: StandardsMatrix,
    scenario: str | None,
    discipline: str | None,
    prompt: str,
    answer: str,
    rubric: list[dict[str, Any]] | None = None,
) -> JudgeRequest:
    """The judge request for one answer (see the module doc for what the judge sees); without a cell
    (an answer from elsewhere) the matrix's own criteria are used without discipline extras."""
    cell = ""
    if scenario is not None and discipline is not None:
        scen, disc = matrix.scenario(scenario), matrix.discipline(discipline)
        cell = f"Scenario: {scen.name} - {scen.description.strip()}\nDiscipline: {disc.name} - {disc.description.strip()}\n\n"
    blocks, criteria = [], {}
    for dim in matrix.dimensions:
        lines = []
        for c in matrix.criteria_for(dim.id, discipline):
            cid = f"C{len(criteria) + 1}"
            criteria[cid] = (dim.id, c)
            lines.append(f"- {cid} {criterion_line(c)}")
        levels = "\n".join(f"- {level}: {dim.levels.get(level, '')}" for level in ("good", "medium", "poor"))
        blocks.append(
            f"## {dim.id}: {dim.name} - {dim.description.strip()}\nLevels:\n{levels}\nCriteria:\n"
            + ("\n".join(lines) or "- (none)")
        )
    rubric_text = ""
    if rubric:
        items = "\n".join(
            f"- R{i + 1} [{r['points']:+d}, {r['kind'].replace('_', ' ')}, {r['dimension']}] {r['criterion']}"
            for i, r in enumerate(rubric)
        )
        rubric_text = f"\nRubric written for this question:\n{items}\n"
    example = {
        "reasoning": "C1: ... C2: ...",
        "criteria": dict.fromkeys(list(criteria)[:2], True),
        "rubric": {"R1": True} if rubric else {},
        "scores": dict.fromkeys(matrix.dimension_ids[:2], 7),
    }
    user = (
        cell
        + f"Question:\n{prompt}\n\nAnswer to grade:\n{answer}\n\n"
        + "Dimensions, with their level descriptors and criteria. A criterion with positive points is met when the "
        "answer does what it says (good); one with negative points is met when the answer does the harmful thing "
        "it describes. Scores: 8-10 at the good level, 4-7 at the medium level, 1-3 at the poor level.\n\n"
        + "\n\n".join(blocks)
        + f"\n{rubric_text}\n"
        + f'Reply with one JSON object shaped like {json.dumps(example)}: "reasoning" first, then a verdict for every '
        "criterion id, then every rubric item id (an empty object when there is no rubric), then a score for "
        f"every dimension ({', '.join(matrix.dimension_ids)})."
    )
    return JudgeRequest(
        [{"role": "system", "content": SYSTEM_JUDGE}, {"role": "user", "content": user}],
        _verdict_schema(list(criteria), len(rubric or ()), matrix.dimension_ids),
        criteria,
        len(rubric or ()),
    )


def _verdict_schema(criteria: list[str], rubric_items: int, dimensions: list[str]) -> dict[str, Any]:
    def flags(ids: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {i: {"type": "boolean"} for i in ids},
            "required": ids,
            "additionalProperties": False,
        }

    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "criteria": flags(criteria),
            "rubric": flags([f"R{i + 1}" for i in range(rubric_items)]),
            "scores": {
                "type": "object",
                "properties": {d: {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX} for d in dimensions},
                "required": dimensions,
                "additionalProperties": False,
            },
        },
        "required": ["reasoning", "criteria", "rubric", "scores"],
        "additionalProperties": False,
    }


def flaws(request: JudgeRequest, verdict: Verdict, dimensions: set[str]) -> list[str]:
    """What the judge held against an answer on ``dimensions``: positive criteria not met, negative met."""
    found = []
    for cid, (dim, c) in request.criteria.items():
        if dim in dimensions and verdict.criteria[cid] != (c.points > 0):
            found.append(f"{'does not meet' if c.points > 0 else 'does'}: {c.text}")
    return found or [f"scores below the good level on {', '.join(sorted(dimensions))}"]


def triplet_verdict(target: str, good: Verdict, medium: Verdict, poor: Verdict, tolerance: float) -> str | None:
    """Why the judge rejects the triplet, or None to keep it (see the module doc)."""
    g, m, p = good.scores[target], medium.scores[target], poor.scores[target]
    if not g > m:
        return f"judge: good <= medium ({target})"
    if not m > p:
        return f"judge: medium <= poor ({target})"
    for dim in good.scores:
        if dim != target and max(abs(v.scores[dim] - good.scores[dim]) for v in (medium, poor)) > tolerance:
            return f"judge: {dim} moved with {target}"
    return None
