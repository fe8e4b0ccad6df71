"""Record readers: every malformed line is reported with file:line and field; skip mode counts."""

from __future__ import annotations

import json

import pytest

from mrrml.data.records import (
    PairRecord,
    RatedRecord,
    TripletRecord,
    read_records,
    record_from_dict,
    record_to_dict,
    write_records,
)
from mrrml.errors import MrrmlError, RecordError

TRIPLET = {
    "id": "t1",
    "prompt": "What helps a cold?",
    "dimension": "accuracy",
    "scenario": "hedging",
    "discipline": "pharmacy",
    "good": "Rest and fluids.",
    "medium": "Rest.",
    "poor": "Antibiotics.",
    "source": "test",
}


def _write(path, lines):
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines), encoding="utf-8")
    return path


def test_round_trip_all_kinds(tmp_path):
    records = [
        TripletRecord(**TRIPLET),
        PairRecord(prompt=[{"role": "user", "content": "hi"}], chosen="a", rejected="b"),
        RatedRecord(prompt="q", response="r", scores={"accuracy": 0.5}),
    ]
    path = tmp_path / "r.jsonl"
    write_records(path, records)
    assert read_records(path).records == records
    assert "neutral" not in record_to_dict(records[0])  # None optional fields are omitted


@pytest.mark.parametrize(
    "line, field, words",
    [
        ('{"id": "t1", "prompt": ', None, "invalid JSON"),
        ({k: v for k, v in TRIPLET.items() if k != "poor"} | {"medium": "x"}, "poor", "missing"),
        (TRIPLET | {"good": 5}, "good", "must be a string"),
        (TRIPLET | {"prompt": [{"role": "wizard", "content": "x"}]}, "prompt[0].role", "must be one of"),
        (TRIPLET | {"extra": 1}, "extra", "unknown field"),
        ({"prompt": "q", "response": "r", "scores": {"accuracy": "high"}}, "scores.accuracy", "finite number"),
        ({"prompt": "q"}, None, "cannot tell the record kind"),
        ([1, 2], None, "JSON object"),
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path, line, field, words):
    path = _write(tmp_path / "bad.jsonl", [TRIPLET, line])
    with pytest.raises(RecordError) as info:
        read_records(path)
    error = info.value
    assert isinstance(error, MrrmlError)
    assert (error.file, error.line, error.field) == (str(path), 2, field)
    assert f"{path}:2" in str(error) and words in str(error)


def test_skip_mode_counts_and_keeps_good_lines(tmp_path):
    path = _write(tmp_path / "mixed.jsonl", [TRIPLET, "not json", "", TRIPLET | {"poor": None}, TRIPLET])
    result = read_records(path, on_error="skip")
    assert len(result.records) == 2 and result.skipped == 2
    assert [e.line for e in result.errors] == [2, 4]  # the blank line 3 is ignored, not an error


def test_matrix_rejects_unknown_ids_naming_the_field(tmp_path, healthbench_matrix):
    good = TRIPLET | {"dimension": "accuracy", "scenario": "hedging", "discipline": "pharmacy"}
    assert len(read_records(_write(tmp_path / "ok.jsonl", [good]), matrix=healthbench_matrix).records) == 1
    for field, value in (("dimension", "bedside_manner"), ("scenario", "space_medicine"), ("discipline", "astrology")):
        path = _write(tmp_path / f"{field}.jsonl", [good, good | {field: value}])
        with pytest.raises(RecordError) as info:
            read_records(path, matrix=healthbench_matrix)
        assert (info.value.line, info.value.field) == (2, field) and value in str(info.value)
    rated = {"prompt": "q", "response": "r", "scores": {"safety": 1.0}}
    with pytest.raises(RecordError, match="scores.safety"):
        read_records(_write(tmp_path / "rated.jsonl", [rated]), matrix=healthbench_matrix)


def test_forced_kind_and_detection():
    assert isinstance(record_from_dict({"prompt": "q", "chosen": "a", "rejected": "b", "dimension": None}), PairRecord)
    with pytest.raises(RecordError, match="chosen: unknown field for a triplet"):
        record_from_dict({"prompt": "q", "chosen": "a", "rejected": "b"}, kind="triplet")
    with pytest.raises(RecordError, match="scenario: missing"):
        record_from_dict({k: v for k, v in TRIPLET.items() if k != "scenario"}, kind="triplet")
    with pytest.raises(RecordError, match="several record kinds"):
        record_from_dict({"prompt": "q", "chosen": "a", "rejected": "b", "response": "r"})
    with pytest.raises(RecordError, match="no such file"):
        read_records("/nonexistent/file.jsonl")
