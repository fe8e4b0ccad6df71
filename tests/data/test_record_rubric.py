"""The optional ``rubric`` field of triplet records: every reader accepts it, the one validator checks it."""

from __future__ import annotations

import json

import pytest

from mrrml.data.records import TripletRecord, read_records, record_from_dict, record_to_dict, write_records
from mrrml.errors import RecordError

RUBRIC = [
    {
        "criterion": "Says to call emergency services for chest pain",
        "points": 8,
        "kind": "hard_rule",
        "dimension": "completeness",
    },
    {
        "criterion": "Recommends aspirin to a patient on warfarin",
        "points": -6,
        "kind": "principle",
        "dimension": "accuracy",
    },
]
TRIPLET = {
    "id": "t1",
    "prompt": "Chest pain at rest, what now?",
    "dimension": "completeness",
    "scenario": "emergency_referrals",
    "discipline": "cardiology",
    "good": "Call an ambulance now.",
    "medium": "See a doctor today.",
    "poor": "Rest and see.",
    "rubric": RUBRIC,
}


def test_rubric_round_trips_through_the_readers(tmp_path, healthbench_matrix):
    record = record_from_dict(TRIPLET)
    assert isinstance(record, TripletRecord) and record.rubric == RUBRIC
    path = tmp_path / "r.jsonl"
    write_records(path, [record])
    assert read_records(path, matrix=healthbench_matrix).records == [record]
    assert "rubric" not in record_to_dict(record_from_dict({k: v for k, v in TRIPLET.items() if k != "rubric"}))


@pytest.mark.parametrize(
    "rubric, field, words",
    [
        ([], "rubric", "non-empty list"),
        ("be good", "rubric", "non-empty list"),
        ([{"criterion": "x", "points": 2, "kind": "principle"}], "rubric[0]", "exactly the keys"),
        ([RUBRIC[0] | {"points": 0}], "rubric[0].points", "non-zero"),
        ([RUBRIC[0] | {"points": True}], "rubric[0].points", "finite non-zero number"),
        ([RUBRIC[0] | {"points": 10**400}], "rubric[0].points", "finite non-zero number"),
        ([RUBRIC[0] | {"kind": "rule"}], "rubric[0].kind", "hard_rule"),
        ([RUBRIC[0] | {"criterion": " "}], "rubric[0].criterion", "non-empty"),
        ([RUBRIC[1]], "rubric", "positive points"),
    ],
)
def test_bad_rubrics_name_the_item_and_field(tmp_path, rubric, field, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(TRIPLET) + "\n" + json.dumps(TRIPLET | {"rubric": rubric}) + "\n")
    with pytest.raises(RecordError) as info:
        read_records(path)
    assert (info.value.line, info.value.field) == (2, field) and words in str(info.value)


def test_rubric_dimension_is_checked_against_the_matrix(tmp_path, healthbench_matrix):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(TRIPLET | {"rubric": [RUBRIC[0] | {"dimension": "charm"}]}) + "\n")
    read_records(path)  # well-formed on its own
    with pytest.raises(RecordError, match="rubric\\[0\\].dimension: unknown dimension 'charm'"):
        read_records(path, matrix=healthbench_matrix)
