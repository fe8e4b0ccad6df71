"""Instructions for LLM backends, written from the matrix (dimension text, criteria, level descriptors).

The model is asked for one strict JSON object ``{"prompt", "good", "medium", "poor"}``; :func:`parse_triplet`
accepts nothing else (a fenced ```json block is unwrapped, any other text is malformed), so garbage is
counted as malformed instead of slipping into training data.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...jsonutil import JsonTextError, loads_json_reply

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix
    from .planner import PlanItem

SYSTEM = (
    "You write training data for a medical reward model. Output ONE JSON object and nothing else, "
    'with string fields "prompt", "good", "medium", "poor".'
)


def generation_messages(matrix: StandardsMatrix, item: PlanItem) -> list[dict[str, str]]:
    """Chat messages asking for one triplet for ``item``'s cell, degrading only its dimension."""
    dim = matrix.dimension(item.dimension)
    scen = matrix.scenario(item.scenario)
    disc = matrix.discipline(item.discipline)
    criteria = "\n".join(f"- {c.text}" for c in matrix.criteria_for(dim.id, disc.id)) or "- (none listed)"
    others = ", ".join(d.name for d in matrix.dimensions if d.id != dim.id)
    user = (
        f"Scenario: {scen.name} - {scen.description}\n"
        f"Discipline: {disc.name} - {disc.description}\n"
        f"Target dimension: {dim.name} - {dim.description}\n"
        f"Criteria for this dimension:\n{criteria}\n"
        f"Level descriptors:\n- good: {dim.levels.get('good', '')}\n- medium: {dim.levels.get('medium', '')}\n"
        f"- poor: {dim.levels.get('poor', '')}\n\n"
        'Write a realistic patient or clinician question for this scenario and discipline ("prompt"), then three answers. '
        '"good" is excellent on every dimension. "medium" and "poor" are copies of "good" that are worse ONLY on the '
        f'target dimension ({dim.name}) as the level descriptors say; keep them equal to "good" on {others}. '
        "Return only the JSON object."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_triplet(text: str) -> tuple[dict[str, str] | None, str | None]:
    """``(fields, None)`` for a valid JSON triplet, else ``(None, why it is malformed)``."""
    try:
        data = loads_json_reply(text)
    except JsonTextError as error:
        return None, f"malformed: not JSON ({error.reason})"
    if not isinstance(data, dict):
        return None, "malformed: JSON is not an object"
    missing = [
        k for k in ("prompt", "good", "medium", "poor") if not isinstance(data.get(k), str) or not data[k].strip()
    ]
    if missing:
        return None, f"malformed: missing or empty field(s) {', '.join(missing)}"
    if len({data["good"].strip(), data["medium"].strip(), data["poor"].strip()}) < 3:
        return None, "malformed: good, medium and poor are not all different"
    return {k: data[k].strip() for k in ("prompt", "good", "medium", "poor")}, None


def judge_messages(matrix: StandardsMatrix, dimension: str, prompt: str, answer: str) -> list[dict[str, str]]:
    """Ask an LLM to grade one answer on one dimension, 1-10, as JSON ``{"score": n}``."""
    dim = matrix.dimension(dimension)
    user = (
        f"Grade the answer ONLY on {dim.name}: {dim.description}\n"
        f"good = {dim.levels.get('good', '')}; medium = {dim.levels.get('medium', '')}; poor = {dim.levels.get('poor', '')}\n\n"
        f'Question:\n{prompt}\n\nAnswer:\n{answer}\n\nReply with JSON {{"score": <integer 1-10>}} only.'
    )
    return [{"role": "system", "content": "You are a strict medical answer grader."}, {"role": "user", "content": user}]


def parse_score(text: str) -> float | None:
    match = re.search(r"\"score\"\s*:\s*(-?\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else None
