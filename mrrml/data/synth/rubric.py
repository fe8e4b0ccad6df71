"""Rubrics per prompt (OpenRubrics' contrastive rubric generation with preference-label consistency).

For each prompt the generator contrasts the good and the poor answer and writes rubric items: hard
rules (explicit constraints the prompt imposes — a requested format, a stated allergy, an age) and
principles (implicit qualities of an excellent answer), each with points and the matrix dimension it
belongs to. The judge then grades good, medium and poor with the rubric; a rubric is kept only when its
scores reproduce the known order good > medium > poor (:func:`reproduces_order`), else another is
written, up to a set number of tries. A kept rubric is stored in the record's ``rubric`` field, and
:func:`write_eval_rows` turns kept prompts and rubrics into HealthBench rows, so any policy can be
graded on the matrix's own scenarios (``mrrml healthbench run --data.source FILE``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import RecordError
from ...io import atomic_write_text
from ...jsonutil import JsonTextError, loads_json_reply
from ..chat import as_messages
from ..records import RUBRIC_KEYS, TripletRecord, check_rubric
from .prompts import Messages

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

MAX_POINTS = 10
MAX_ITEMS = 12
SYSTEM_RUBRIC = (
    "You write grading rubrics for answers to medical questions: hard rules (explicit constraints the question "
    "imposes, such as a requested format, a stated allergy or the patient's age) and principles (implicit "
    "qualities an excellent answer has). Reply with ONE JSON object and nothing else."
)


def rubric_schema(matrix: StandardsMatrix) -> dict[str, Any]:
    """The JSON schema of ``{"items": [{criterion, points, kind, dimension}, ...]}`` for this matrix."""
    item = {
        "type": "object",
        "properties": {
            "criterion": {"type": "string", "minLength": 1},
            "points": {"type": "integer", "minimum": -MAX_POINTS, "maximum": MAX_POINTS},
            "kind": {"enum": ["hard_rule", "principle"]},
            "dimension": {"enum": matrix.dimension_ids},
        },
        "required": list(RUBRIC_KEYS),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_ITEMS}},
        "required": ["items"],
        "additionalProperties": False,
    }


def rubric_messages(matrix: StandardsMatrix, prompt: str, good: str, poor: str) -> Messages:
    """Ask for rubric items specific to ``prompt``, contrasting its preferred and rejected answers."""
    dims = "\n".join(f"- {d.id}: {d.name} - {d.description.strip()}" for d in matrix.dimensions)
    user = (
        f"Question:\n{prompt}\n\nPreferred answer:\n{good}\n\nRejected answer:\n{poor}\n\n"
        f"Dimensions (every rubric item belongs to one):\n{dims}\n\n"
        f"Write 4 to {MAX_ITEMS} rubric items for THIS question that a grader can check in any answer. Each item "
        'names one checkable behaviour ("criterion"), its "points" (1 to 10 for desirable behaviour, -1 to -10 '
        'for harmful behaviour, more for what matters more), its "kind" ("hard_rule" for an explicit constraint '
        'of the question, "principle" for an implicit quality) and the "dimension" it belongs to. The preferred '
        "answer should earn the positive items the rejected one misses; do not refer to the two answers in the "
        "criteria.\n"
        'Return {"items": [{"criterion": "...", "points": 5, "kind": "principle", "dimension": "..."}, ...]} only.'
    )
    return [{"role": "system", "content": SYSTEM_RUBRIC}, {"role": "user", "content": user}]


def parse_rubric(text: str, matrix: StandardsMatrix) -> tuple[list[dict[str, Any]] | None, str | None]:
    """``(items, None)`` for a valid rubric of this matrix, else ``(None, why)``; never raises."""
    try:
        data = loads_json_reply(text)
    except JsonTextError as error:
        return None, f"malformed: not JSON ({error.reason})"
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return None, f"malformed: rubric needs a list of 1 to {MAX_ITEMS} items"
    try:
        rubric = check_rubric(items, "rubric reply", 0)
    except RecordError as error:
        return None, f"malformed: {error.field}: {str(error).rsplit(': ', 1)[-1]}"
    for i, item in enumerate(rubric):
        if item["dimension"] not in matrix.dimension_ids:
            return None, f"malformed: rubric[{i}].dimension: not a dimension of {matrix.name}"
        if not isinstance(item["points"], int) or abs(item["points"]) > MAX_POINTS:
            return None, f"malformed: rubric[{i}].points: must be a whole number within ±{MAX_POINTS}"
    return rubric, None


def rubric_score(rubric: Sequence[dict[str, Any]], met: Sequence[bool]) -> float:
    """HealthBench's example score: points of the met items over the positive points (not clipped)."""
    possible = sum(item["points"] for item in rubric if item["points"] > 0)
    return sum(item["points"] for item, hit in zip(rubric, met) if hit) / possible


def reproduces_order(
    rubric: Sequence[dict[str, Any]], good: Sequence[bool], medium: Sequence[bool], poor: Sequence[bool]
) -> bool:
    """True when grading with the rubric orders the answers as they were made: good > medium > poor."""
    g, m, p = (rubric_score(rubric, met) for met in (good, medium, poor))
    return g > m > p


def eval_row(record: TripletRecord, split: str | None = None) -> dict[str, Any]:
    """One HealthBench row for a record with a rubric: its prompt, the rubric items as rubric criteria
    (tagged ``axis:<dimension>`` and ``kind:<kind>``), and the cell — and the data split, when given —
    as example tags, so HealthBench reports a score per theme (scenario), discipline and split."""
    if not record.rubric:
        raise ValueError(f"record {record.id!r} has no rubric")
    return {
        "prompt_id": record.id,
        "prompt": as_messages(record.prompt),
        "rubrics": [
            {
                "criterion": item["criterion"],
                "points": item["points"],
                "tags": [f"axis:{item['dimension']}", f"kind:{item['kind']}"],
            }
            for item in record.rubric
        ],
        "example_tags": [
            f"theme:{record.scenario}",
            f"discipline:{record.discipline}",
            f"target_dimension:{record.dimension}",
            *([f"split:{split}"] if split else []),
        ],
    }


def write_eval_rows(records: Iterable[tuple[TripletRecord, str | None]], path: str | os.PathLike) -> int:
    """Write every ``(record, split)`` whose record has a rubric as a HealthBench row (atomically);
    returns how many."""
    rows = [eval_row(r, split) for r, split in records if r.rubric]
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows))
    return len(rows)
