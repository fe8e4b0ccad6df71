"""Fuzz every JSON Lines reader: whatever the bytes, the reader returns or raises ``RecordError`` naming
the file and a line that exists (line 0 only for whole-file problems such as "no rows").

Readers covered: training records (``read_records``, raise and skip modes, with and without a matrix),
HealthBench rows (``load_examples``), meta-eval rows (``load_meta_eval``), graded completions
(``read_grades``), the HealthBench answer cache (``ResponseCache``) and the synthesis work log. The
matrix loader is fuzzed by the standards tests (tests/standards/test_fuzz.py), not here.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from mrrml.errors import MrrmlError, RecordError
from tests.reliability.fuzzing import FUZZED, HOSTILE_LINES, fuzz_settings, jsonl_files, physical_lines


def _package_rows(n: int) -> list[dict[str, Any]]:
    from mrrml.resources import healthbench_package_rows

    with open(healthbench_package_rows(), encoding="utf-8") as handle:
        return [json.loads(line) for line in itertools.islice(handle, n)]


def _record_rows() -> list[dict[str, Any]]:
    from mrrml.data.records import PairRecord, RatedRecord, TripletRecord, record_to_dict

    chat = [{"role": "system", "content": "Be careful."}, {"role": "user", "content": "I feel dizzy."}]
    return [
        record_to_dict(r)
        for r in (
            TripletRecord(
                id="t1",
                prompt="What helps a fever?",
                dimension="accuracy",
                scenario="hedging",
                discipline="pediatrics",
                good="Fluids and rest.",
                medium="Rest.",
                poor="Nothing helps.",
                neutral="Rest and fluids.",
                source="fuzz",
            ),
            PairRecord(prompt=chat, chosen="Sit down and drink water.", rejected="Run.", dimension="accuracy"),
            RatedRecord(prompt="Is aspirin safe?", response="Ask your doctor.", scores={"accuracy": 0.5}),
        )
    ]


def _graded_rows() -> list[dict[str, Any]]:
    rows = []
    for raw in _package_rows(2):
        rubrics = [{**item, "criteria_met": i % 2 == 0, "explanation": "x"} for i, item in enumerate(raw["rubrics"])]
        rows.append(
            {
                "prompt_id": raw["prompt_id"],
                "prompt": raw["prompt"],
                "completion": "See a doctor.",
                "example_tags": raw["example_tags"],
                "rubrics": rubrics,
            }
        )
    return rows


def _meta_rows() -> list[dict[str, Any]]:
    return [
        {
            "prompt_id": "m1",
            "completion_id": "c1",
            "prompt": [{"role": "user", "content": "Chest pain?"}],
            "completion": "Call an ambulance.",
            "rubric": "Advises emergency care.",
            "category": "cluster:emergency_referrals_accuracy",
            "binary_labels": [True, False],
            "anonymized_physician_ids": ["p1", "p2"],
        }
    ]


def _cache_rows() -> list[dict[str, Any]]:
    return [
        {"key": "0" * 64, "value": "a completion"},
        {"key": "1" * 64, "value": {"criteria_met": True, "explanation": "ok"}},
    ]


def _worklog_rows() -> list[dict[str, Any]]:
    return [{"index": 0, "notes": [], "record": _record_rows()[0]}, {"index": 1, "notes": ["n"], "drop": "filter: x"}]


# ------------------------------------------------------------------------------ the readers
def _read_records_raise(path: Path) -> Any:
    from mrrml.data.records import read_records

    return read_records(path)


def _read_records_skip(path: Path) -> Any:
    from mrrml.data.records import read_records

    result = read_records(path, on_error="skip")
    # Skip mode must account for every non-blank line: kept or reported, never silently lost.
    lines = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    non_blank = sum(1 for line in lines if line.decode("utf-8", "replace").strip())
    assert len(result.records) + len(result.errors) == non_blank
    for error in result.errors:
        _check_located(error, path)
    return result


@functools.lru_cache(maxsize=1)
def _matrix() -> Any:
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


def _read_records_matrix(path: Path) -> Any:
    from mrrml.data.records import read_records

    return read_records(path, kind="triplet", on_error="skip", matrix=_matrix())


def _load_examples(path: Path) -> Any:
    from mrrml.eval.healthbench.data import load_examples

    examples = load_examples(path)
    # Accepted rows must be scoreable: a NaN/inf point value would turn every metric into NaN.
    assert all(math.isfinite(item.points) for ex in examples for item in ex.rubrics)
    return examples


def _load_meta(path: Path) -> Any:
    from mrrml.eval.healthbench.data import load_meta_eval

    return load_meta_eval(path)


def _read_grades(path: Path) -> Any:
    from mrrml.eval.healthbench.grades import read_grades, score_graded

    graded = read_grades(path)
    metrics = score_graded(graded)["metrics"]  # whatever validation let through must also score...
    assert all(math.isfinite(v) for v in metrics.values()), metrics  # ...to finite numbers (valid JSON)
    return graded


def _open_cache(path: Path) -> Any:
    from mrrml.eval.healthbench.cache import ResponseCache

    with ResponseCache(path) as cache:
        return len(cache)


def _work_log(path: Path) -> Any:
    from mrrml.data.synth.runner import _load_log
    from mrrml.io import repair_jsonl_tail

    repair_jsonl_tail(path)  # as run_synthesis does before reading
    return _load_log(path)


READERS: dict[str, tuple[Callable[[Path], Any], Callable[[], list[dict[str, Any]]]]] = {
    "records-raise": (_read_records_raise, _record_rows),
    "records-skip": (_read_records_skip, _record_rows),
    "records-matrix": (_read_records_matrix, _record_rows),
    "healthbench-rows": (_load_examples, lambda: _package_rows(3)),
    "meta-eval-rows": (_load_meta, _meta_rows),
    "grades": (_read_grades, _graded_rows),
    "answer-cache": (_open_cache, _cache_rows),
    "synth-work-log": (_work_log, _worklog_rows),
}


def _check_located(error: BaseException, path: Path, data: bytes | None = None) -> None:
    """The error is the documented one and names this file and a line that exists."""
    assert isinstance(error, RecordError), f"undocumented {type(error).__name__}: {error}"
    assert error.file == str(path)
    top = physical_lines(data if data is not None else path.read_bytes())
    assert 0 <= error.line <= top, (error.line, top)
    assert str(error).startswith(f"{path}:{error.line}")


def _exercise(name: str, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    FUZZED[name] = FUZZED.get(name, 0) + 1  # printed in the terminal summary (conftest)
    reader = READERS[name][0]
    try:
        reader(path)
    except MrrmlError as error:
        _check_located(error, path, data)
    # Anything else (UnicodeDecodeError, RecursionError, ValueError, OverflowError...) fails the test.


@pytest.mark.parametrize("name", sorted(READERS))
def test_fuzzed_file_gives_result_or_located_record_error(name, tmp_path):
    valid = READERS[name][1]()

    @fuzz_settings(25)
    @given(data=jsonl_files(valid))
    def run(data: bytes) -> None:
        _exercise(name, tmp_path / "fuzz.jsonl", data)

    run()


@pytest.mark.parametrize("name", sorted(READERS))
def test_hostile_lines_are_located_errors(name, tmp_path):
    """The known-hostile tokens, each after a valid row, deterministically (hypothesis may not draw
    every one of them in a short CI run). All escapes are collected so one run lists every bug."""
    valid = json.dumps(READERS[name][1]()[0]).encode()
    escaped = []
    for i, hostile in enumerate(HOSTILE_LINES):
        try:
            _exercise(name, tmp_path / f"hostile{i}.jsonl", valid + b"\n" + hostile + b"\n")
        except BaseException as error:
            escaped.append(f"{hostile[:24]!r}...: {type(error).__name__}: {str(error)[:120]}")
    assert not escaped, "\n".join(escaped)


def test_valid_rows_read_back(tmp_path):
    """The fuzz seeds themselves are valid for their readers (else the mutations test nothing deep)."""
    for name, (reader, rows) in READERS.items():
        if name in ("records-matrix",):
            continue
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows()))
        assert reader(path) is not None, name


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("name", ["healthbench-rows", "grades"])
def test_non_finite_rubric_points_are_a_located_error(name, value, tmp_path):
    """JSON allows NaN/Infinity tokens; a rubric item worth NaN points makes overall_score NaN."""
    row = READERS[name][1]()[0]
    row["rubrics"][0]["points"] = "@points@"
    data = json.dumps(row).replace('"@points@"', value).encode() + b"\n"
    _exercise(name, tmp_path / "points.jsonl", data)
