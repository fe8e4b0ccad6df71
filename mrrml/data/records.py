"""The three training record kinds and their JSON Lines readers.

Every data file that enters training, evaluation or synthesis passes through :func:`read_records`,
so this is the one place that decides what a well-formed record is. A malformed record is reported
with its file, line and field (``RecordError``) — either the whole read stops at the first one
(``on_error="raise"``) or bad lines are skipped and returned alongside the good ones
(``on_error="skip"``), so a caller can count and report what it dropped instead of losing it silently.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import RecordError
from ..io import decode_json_line, iter_raw_lines
from .chat import Prompt, PromptError, check_prompt

if TYPE_CHECKING:  # the standards package imports nothing from here; keep the import lazy anyway
    from ..standards.matrix import StandardsMatrix


@dataclass
class TripletRecord:
    """Answers to one prompt at three quality levels on ONE dimension (all else equal).

    ``neutral`` is an optional same-quality surface rewrite of ``good`` (length/format change) that a
    reward model must score like ``good``. ``rubric`` is an optional rubric written for this prompt
    (OpenRubrics style): a list of ``{"criterion", "points", "kind", "dimension"}`` items — ``kind``
    ``hard_rule`` (an explicit constraint the prompt imposes) or ``principle`` (an implicit quality),
    ``dimension`` the matrix dimension the item belongs to. LLM synthesis keeps a rubric only when
    grading the answers with it reproduces good > medium > poor.
    """

    id: str
    prompt: Prompt
    dimension: str
    scenario: str
    discipline: str
    good: str
    poor: str
    medium: str | None = None
    neutral: str | None = None
    source: str = ""
    rubric: list[dict[str, Any]] | None = None


@dataclass
class PairRecord:
    """A preference pair; ``dimension`` None means the overall (weighted) reward."""

    prompt: Prompt
    chosen: str
    rejected: str
    dimension: str | None = None
    id: str = ""
    scenario: str | None = None
    discipline: str | None = None
    source: str = ""


@dataclass
class RatedRecord:
    """One response with scores on some dimensions; dimensions absent from ``scores`` are masked."""

    prompt: Prompt
    response: str
    scores: dict[str, float] = field(default_factory=dict)
    id: str = ""
    scenario: str | None = None
    discipline: str | None = None
    source: str = ""


Record = TripletRecord | PairRecord | RatedRecord

_CLASSES: dict[str, type] = {"triplet": TripletRecord, "pair": PairRecord, "rated": RatedRecord}
# Fields that identify each kind; a dict with any of them is taken to be that kind.
_MARKERS: dict[str, tuple[str, ...]] = {
    "triplet": ("good", "poor"),
    "pair": ("chosen", "rejected"),
    "rated": ("response", "scores"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "triplet": ("id", "prompt", "dimension", "scenario", "discipline", "good", "poor"),
    "pair": ("prompt", "chosen", "rejected"),
    "rated": ("prompt", "response", "scores"),
}
RUBRIC_KEYS = ("criterion", "points", "kind", "dimension")
_OPTIONAL_STR: dict[str, tuple[str, ...]] = {
    "triplet": ("medium", "neutral"),
    "pair": ("dimension", "scenario", "discipline"),
    "rated": ("scenario", "discipline"),
}


@dataclass
class ReadResult:
    """Records read from one file plus the errors of the lines that were skipped (skip mode)."""

    records: list[Record]
    errors: list[RecordError]

    @property
    def skipped(self) -> int:
        return len(self.errors)


def record_to_dict(record: Record) -> dict[str, Any]:
    """The JSON form of a record; optional fields that are None are left out to keep files small."""
    data = {name: getattr(record, name) for name in record.__dataclass_fields__}
    return {key: value for key, value in data.items() if value is not None}


def _detect_kind(data: dict[str, Any], file: str, line: int) -> str:
    found = [kind for kind, marks in _MARKERS.items() if any(m in data for m in marks)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise RecordError(
            file,
            line,
            None,
            "cannot tell the record kind: expected 'good'/'poor' (triplet), "
            "'chosen'/'rejected' (pair) or 'response'/'scores' (rated)",
        )
    raise RecordError(file, line, None, f"fields of several record kinds present ({', '.join(found)})")


def _check_prompt(value: Any, file: str, line: int) -> Prompt:
    try:
        return check_prompt(value)
    except PromptError as error:
        raise RecordError(file, line, f"prompt{error.where}", error.message) from None


def record_from_dict(data: Any, file: str = "<memory>", line: int = 0, kind: str | None = None) -> Record:
    """Validate one decoded JSON object and build its record; ``kind`` None auto-detects it by its fields."""
    if not isinstance(data, dict):
        raise RecordError(file, line, None, f"a record must be a JSON object, got {type(data).__name__}")
    if kind is None:
        kind = _detect_kind(data, file, line)
    elif kind not in _CLASSES:
        raise RecordError(file, line, None, f"unknown record kind {kind!r} (triplet, pair, rated)")
    cls = _CLASSES[kind]
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RecordError(file, line, unknown[0], f"unknown field for a {kind} record (allowed: {sorted(allowed)})")
    for name in _REQUIRED[kind]:
        if name not in data or data[name] is None:
            raise RecordError(file, line, name, f"missing required field of a {kind} record")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name == "prompt":
            values[name] = _check_prompt(value, file, line)
        elif name == "scores":
            values[name] = _check_scores(value, file, line)
        elif name == "rubric":
            values[name] = None if value is None else check_rubric(value, file, line)
        elif value is None and name in _OPTIONAL_STR[kind]:
            values[name] = None
        elif not isinstance(value, str):
            raise RecordError(file, line, name, f"must be a string, got {type(value).__name__}")
        else:
            values[name] = value
    for name in ("good", "poor", "chosen", "rejected", "response", "dimension", "scenario", "discipline"):
        if name in _REQUIRED[kind] and isinstance(values.get(name), str) and not values[name].strip():
            raise RecordError(file, line, name, "must not be empty")
    return cls(**values)


def _is_finite_number(value: Any) -> bool:
    """A JSON number that is finite as a float (bool is an int subclass, but a true/false value is a data bug)."""
    try:
        return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False


def _shown(value: Any) -> str:
    return repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."


def _check_scores(value: Any, file: str, line: int) -> dict[str, float]:
    if not isinstance(value, dict):
        raise RecordError(file, line, "scores", f"must be an object {{dimension: number}}, got {type(value).__name__}")
    scores: dict[str, float] = {}
    for key, score in value.items():
        if not _is_finite_number(score):
            raise RecordError(file, line, f"scores.{key}", f"must be a finite number, got {_shown(score)}")
        scores[key] = float(score)
    return scores


def check_rubric(value: Any, file: str = "<memory>", line: int = 0) -> list[dict[str, Any]]:
    """A record's rubric, validated: a non-empty list of ``{criterion, points, kind, dimension}`` with
    non-empty text, finite non-zero points, a known kind, and at least one item with positive points
    (a rubric score divides by them). Returns the items with their keys in a fixed order."""
    from ..standards.matrix import CRITERION_KINDS

    if not isinstance(value, list) or not value:
        raise RecordError(file, line, "rubric", "must be a non-empty list of rubric items")
    items = []
    for i, item in enumerate(value):
        where = f"rubric[{i}]"
        if not isinstance(item, dict) or set(item) != set(RUBRIC_KEYS):
            raise RecordError(file, line, where, f"must be an object with exactly the keys {list(RUBRIC_KEYS)}")
        for key in ("criterion", "dimension"):
            if not isinstance(item[key], str) or not item[key].strip():
                raise RecordError(file, line, f"{where}.{key}", "must be a non-empty string")
        if not _is_finite_number(item["points"]) or not item["points"]:
            raise RecordError(
                file, line, f"{where}.points", f"must be a finite non-zero number, got {_shown(item['points'])}"
            )
        if item["kind"] not in CRITERION_KINDS:
            raise RecordError(
                file, line, f"{where}.kind", f"must be one of {list(CRITERION_KINDS)}, got {_shown(item['kind'])}"
            )
        items.append({key: item[key] for key in RUBRIC_KEYS})
    if not any(item["points"] > 0 for item in items):
        raise RecordError(file, line, "rubric", "needs at least one item with positive points")
    return items


def check_against_matrix(record: Record, matrix: StandardsMatrix, file: str = "<memory>", line: int = 0) -> None:
    """Raise ``RecordError`` if the record names a dimension, scenario or discipline the matrix lacks."""
    dims, scens, discs = set(matrix.dimension_ids), set(matrix.scenario_ids), set(matrix.discipline_ids)

    def need(field_name: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            raise RecordError(
                file, line, field_name, f"unknown {what} {value!r} for matrix {matrix.name!r} (known: {sorted(known)})"
            )

    need("dimension", getattr(record, "dimension", None), dims, "dimension")
    need("scenario", record.scenario, scens, "scenario")
    need("discipline", record.discipline, discs, "discipline")
    if isinstance(record, RatedRecord):
        for key in record.scores:
            need(f"scores.{key}", key, dims, "dimension")
    if isinstance(record, TripletRecord) and record.rubric:
        for i, item in enumerate(record.rubric):
            need(f"rubric[{i}].dimension", item["dimension"], dims, "dimension")


def read_records(
    path: str | os.PathLike,
    *,
    kind: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    matrix: StandardsMatrix | None = None,
) -> ReadResult:
    """Read a JSON Lines file of records.

    ``kind`` forces one record kind (a line of another kind is an error); None detects it per line.
    ``on_error="raise"`` stops at the first malformed line; ``"skip"`` collects the errors and goes on.
    With ``matrix``, unknown dimension/scenario/discipline ids are errors naming the field.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise RecordError(name, 0, None, "no such file")
    records: list[Record] = []
    errors: list[RecordError] = []
    for number, raw in iter_raw_lines(path):
        try:
            record = record_from_dict(decode_json_line(raw, name, number), name, number, kind)
            if matrix is not None:
                check_against_matrix(record, matrix, name, number)
        except RecordError as error:
            if on_error == "raise":
                raise
            errors.append(error)
            continue
        records.append(record)
    return ReadResult(records=records, errors=errors)


def write_records(path: str | os.PathLike, records: list[Record]) -> None:
    """Write records as JSON Lines atomically (the whole file appears at once)."""
    from ..io import atomic_write_text

    text = "".join(json.dumps(record_to_dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    atomic_write_text(path, text)
