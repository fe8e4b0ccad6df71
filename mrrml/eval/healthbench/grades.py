"""The graded-completion file: one completion per line with every rubric item's grade.

Line format (the reference's per-item grade fields)::

    {"prompt_id", "prompt", "completion", "example_tags",
     "rubrics": [{"criterion", "points", "tags", "criteria_met", "explanation"}]}

``criteria_met`` is a boolean, or ``null`` for an item the grader failed on after its retries
(then ``grading_error`` says why). Failure policy: an example with any failed item is *excluded*
from every metric and counted (``examples_excluded``, ``items_failed``). Scoring a failed item as
"not met" would bias scores downward silently; dropping only the item would change that example's
denominator. ``score_graded(..., on_failure="raise")`` refuses to score instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import MrrmlError, RecordError
from ...io import iter_jsonl
from .data import parse_messages, parse_rubric_item, require_object
from .scoring import LengthAdjustment, aggregate, example_metrics


class GradingFailedError(MrrmlError):
    """Some rubric items have no grade and the policy is to refuse scoring."""


@dataclass
class GradedItem:
    criterion: str
    points: float
    tags: list[str]
    criteria_met: bool | None
    explanation: str = ""
    grading_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "criterion": self.criterion,
            "points": self.points,
            "tags": self.tags,
            "criteria_met": self.criteria_met,
            "explanation": self.explanation,
        }
        if self.grading_error is not None:
            out["grading_error"] = self.grading_error
        return out


@dataclass
class GradedExample:
    prompt_id: str
    prompt: list[dict[str, str]]
    completion: str
    example_tags: list[str]
    rubrics: list[GradedItem]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_items(self) -> int:
        return sum(item.criteria_met is None for item in self.rubrics)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "prompt_id": self.prompt_id,
            "prompt": self.prompt,
            "completion": self.completion,
            "example_tags": self.example_tags,
            "rubrics": [item.to_dict() for item in self.rubrics],
        }


def graded_from_dict(obj: dict[str, Any], file: str = "<memory>", line: int = 0) -> GradedExample:
    for key, kind in (("prompt_id", str), ("completion", str), ("example_tags", list), ("rubrics", list)):
        if not isinstance(obj.get(key), kind):
            raise RecordError(file, line, key, f"missing or not a {kind.__name__}")
    items = []
    for i, raw in enumerate(obj["rubrics"]):
        key = f"rubrics[{i}]"
        base = parse_rubric_item(raw, file, line, key)
        met = raw.get("criteria_met")
        if met is not None and not isinstance(met, bool):
            raise RecordError(file, line, f"{key}.criteria_met", "expected true, false or null (failed)")
        items.append(
            GradedItem(
                base.criterion,
                base.points,
                list(base.tags),
                met,
                str(raw.get("explanation", "")),
                raw.get("grading_error"),
            )
        )
    if not any(item.points > 0 for item in items):
        raise RecordError(file, line, "rubrics", "no item with positive points: the score is undefined")
    extra = {k: v for k, v in obj.items() if k not in ("prompt_id", "prompt", "completion", "example_tags", "rubrics")}
    return GradedExample(
        obj["prompt_id"],
        parse_messages(obj.get("prompt"), file, line),
        obj["completion"],
        list(obj["example_tags"]),
        items,
        extra,
    )


def read_grades(path: str | os.PathLike) -> list[GradedExample]:
    file = str(path)
    graded = [graded_from_dict(require_object(value, file, line), file, line) for line, value in iter_jsonl(path)]
    if not graded:
        raise RecordError(file, 0, None, "no graded completions")
    return graded


def score_graded(
    graded: Sequence[GradedExample],
    *,
    length: LengthAdjustment | None = None,
    seed: int = 0,
    on_failure: str = "exclude",
) -> dict[str, Any]:
    """Metrics over graded completions plus the failure counts: ``{"metrics": ..., "counts": ...}``."""
    failed = [g for g in graded if g.failed_items]
    if failed and on_failure == "raise":
        raise GradingFailedError(
            f"{sum(g.failed_items for g in failed)} rubric items in {len(failed)} examples have no grade "
            f"(first: prompt_id {failed[0].prompt_id})"
        )
    per_example = [
        example_metrics(
            [(i.points, i.tags, bool(i.criteria_met)) for i in g.rubrics], g.example_tags, g.completion, length
        )
        for g in graded
        if not g.failed_items
    ]
    counts = {
        "examples": len(graded),
        "examples_scored": len(per_example),
        "examples_excluded": len(failed),
        "items": sum(len(g.rubrics) for g in graded),
        "items_failed": sum(g.failed_items for g in graded),
    }
    metrics = aggregate(per_example, seed=seed) if per_example else {}
    return {"metrics": metrics, "counts": counts}
