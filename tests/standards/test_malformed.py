"""Each malformed matrix is reported with its message and the exact line to fix.

Every case edits one line of the tiny valid matrix in conftest.py (TINY); the comment names
the mistake a matrix author could plausibly make.
"""

from __future__ import annotations

import pytest

from mrrml.errors import MatrixError, MrrmlError
from mrrml.standards.loader import load_matrix, load_matrix_text

# (case id, line edited, replacement (None = delete), expected line, expected fragment, key path)
CASES = [
    ("yaml-syntax", 27, "    name: Triage: acute", 27, "YAML syntax error", ""),
    ("yaml-unclosed-flow", 29, "    weights: {accuracy: 0.7, empathy: 0.3", 30, "YAML syntax error", ""),
    (
        "unknown-key-typo",
        28,
        "    descripton: Urgency decisions.",
        28,
        "unknown key 'descripton' in scenario; did you mean 'description'?",
        "scenarios[triage].descripton",
    ),
    ("missing-required", 7, None, 5, "missing required key 'description' in dimension", "dimensions[accuracy]"),
    (
        "duplicate-id",
        13,
        "  - id: accuracy",
        13,
        "duplicate dimension id 'accuracy' (first given at line 5)",
        "dimensions[1].id",
    ),
    (
        "duplicate-key",
        6,
        "    name: Accuracy\n    name: Again",
        7,
        "duplicate key 'name' (first given at line 6)",
        "dimensions[accuracy].name",
    ),
    ("invalid-id", 37, "  - id: Nursing Care", 37, "invalid id 'Nursing Care'", "disciplines[0].id"),
    (
        "weight-unknown-dimension",
        29,
        "    weights: {accuracy: 0.7, empaty: 0.3}",
        29,
        "unknown dimension 'empaty'; did you mean 'empathy'?",
        "scenarios[triage].weights.empaty",
    ),
    (
        "negative-weight",
        34,
        "      accuracy: -1",
        34,
        "weight must not be negative, got -1",
        "scenarios[chronic].weights.accuracy",
    ),
    (
        "nan-weight",
        35,
        "      empathy: .nan",
        35,
        "weight must be a finite number",
        "scenarios[chronic].weights.empathy",
    ),
    (
        "weight-wrong-type",
        35,
        "      empathy: high",
        35,
        "expected a number, got a string",
        "scenarios[chronic].weights.empathy",
    ),
    (
        "all-zero-scenario",
        29,
        "    weights: {accuracy: 0, empathy: 0.0}",
        29,
        "all weights are zero",
        "scenarios[triage].weights",
    ),
    (
        "all-zero-after-scale",
        40,
        "    scale: {empathy: 0, accuracy: 0}",
        40,
        "cell (triage, nursing) has all-zero weights after scaling",
        "disciplines[nursing].scale",
    ),
    (
        "cell-unknown-scenario",
        48,
        "  - scenario: triag",
        48,
        "unknown scenario 'triag'; did you mean 'triage'?",
        "cells[0].scenario",
    ),
    (
        "cell-unknown-discipline",
        49,
        "    discipline: pharmcy",
        49,
        "unknown discipline 'pharmcy'; did you mean 'pharmacy'?",
        "cells[0].discipline",
    ),
    (
        "duplicate-cell",
        52,
        "    discipline: pharmacy\n  - scenario: chronic\n    discipline: pharmacy",
        53,
        "duplicate cell (chronic, pharmacy) (first given at line 51)",
        "cells[2]",
    ),
    ("not-applicable-without-reason", 54, None, 51, "needs a 'reason'", "cells[1]"),
    (
        "weights-on-not-applicable",
        54,
        "    reason: Not covered.\n    weights: {accuracy: 1}",
        55,
        "marked 'applicable: false'",
        "cells[1].weights",
    ),
    (
        "applicable-not-bool",
        53,
        '    applicable: "no"',
        53,
        "expected true or false, got a string",
        "cells[1].applicable",
    ),
    (
        "points-zero",
        12,
        "      - {text: States a wrong fact., points: 0, kind: principle}",
        12,
        "points must not be 0",
        "dimensions[accuracy].criteria[1].points",
    ),
    (
        "points-float",
        43,
        "        - {text: Gives practical steps., points: 2.5, kind: principle}",
        43,
        "expected a whole number of points, got a number",
        "disciplines[nursing].criteria.empathy[0].points",
    ),
    (
        "points-string",
        23,
        "        points: three",
        23,
        "expected a whole number of points, got a string",
        "dimensions[empathy].criteria[0].points",
    ),
    (
        "unknown-kind",
        24,
        "        kind: hard-rule",
        24,
        "unknown value 'hard-rule'; did you mean 'hard_rule'?",
        "dimensions[empathy].criteria[0].kind",
    ),
    (
        "empty-criteria",
        21,
        "    criteria: []\n    old_criteria:",
        21,
        "must list at least one criterion",
        "dimensions[empathy].criteria",
    ),
    (
        "no-positive-criterion",
        11,
        "      - {text: States correct facts., points: -1, kind: hard_rule}",
        10,
        "at least one criterion with positive points",
        "dimensions[accuracy].criteria",
    ),
    (
        "unknown-template-operator",
        8,
        "    template_operator: acuracy",
        8,
        "unknown value 'acuracy'; did you mean 'accuracy'?",
        "dimensions[accuracy].template_operator",
    ),
    ("levels-missing-medium", 19, None, 17, "missing required key 'medium' in levels", "dimensions[empathy].levels"),
    (
        "levels-unknown-level",
        20,
        "      poor: Cold.\n      excellent: Warm.",
        21,
        "unknown key 'excellent' in levels",
        "dimensions[empathy].levels.excellent",
    ),
    ("empty-text", 14, '    name: ""', 14, "must not be empty", "dimensions[empathy].name"),
    (
        "discipline-criteria-unknown-dimension",
        42,
        "      empathie:",
        42,
        "unknown dimension 'empathie'; did you mean 'empathy'?",
        "disciplines[nursing].criteria.empathie",
    ),
    (
        "dimensions-not-a-list",
        4,
        "dimensions: accuracy\nold_dimensions:",
        4,
        "expected a list of dimensions, got a string",
        "dimensions",
    ),
    (
        "unknown-top-key",
        3,
        "description: A tiny matrix for tests.\nauthor: me",
        4,
        "unknown key 'author' in standards matrix",
        "author",
    ),
]


@pytest.mark.parametrize(
    "line, replacement, expected_line, fragment, key",
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_malformed_matrix_is_reported_at_its_line(tiny_with, line, replacement, expected_line, fragment, key):
    text = tiny_with(line, replacement)
    with pytest.raises(MatrixError) as info:
        load_matrix_text(text, source="bad.yaml")
    found = [p for p in info.value.problems if fragment in p.message]
    assert found, f"no problem mentions {fragment!r}; got:\n{info.value}"
    assert [p.line for p in found] == [expected_line], str(info.value)
    assert found[0].file == "bad.yaml"
    if key:
        assert found[0].key == key
    assert f"bad.yaml:{expected_line}:" in str(info.value)


def test_at_least_fifteen_distinct_cases():
    assert len({c[0] for c in CASES}) >= 15 and len({c[4] for c in CASES}) >= 15


def test_every_problem_is_reported_at_once(tiny_with, tiny_text):
    lines = tiny_text.splitlines()
    lines[7] = "    template_operator: acuracy"  # line 8
    lines[11] = "      - {text: States a wrong fact., points: 0, kind: principle}"  # line 12
    lines[27] = "    descripton: Urgency decisions."  # line 28
    lines[33] = "      accuracy: -1"  # line 34
    lines[47] = "  - scenario: triag"  # line 48
    with pytest.raises(MatrixError) as info:
        load_matrix_text("\n".join(lines) + "\n", source="many.yaml")
    problems = info.value.problems
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert {8, 12, 26, 28, 34, 48} <= {p.line for p in problems}
    assert len(problems) >= 6


def test_empty_and_non_mapping_documents():
    with pytest.raises(MatrixError, match=r"x.yaml:1: the document is empty"):
        load_matrix_text("# only a comment\n", source="x.yaml")
    with pytest.raises(MatrixError, match=r"x.yaml:1: <top>: expected a mapping, got a list"):
        load_matrix_text("- a\n- b\n", source="x.yaml")


def test_missing_file_is_a_matrix_error(tmp_path):
    with pytest.raises(MatrixError, match="cannot read the matrix file") as info:
        load_matrix(tmp_path / "absent.yaml")
    assert isinstance(info.value, MrrmlError)


def test_load_matrix_names_the_file(tmp_path, tiny_with):
    path = tmp_path / "m.yaml"
    path.write_text(tiny_with(8, "    template_operator: acuracy"), encoding="utf-8")
    with pytest.raises(MatrixError, match=rf"{path}:8: dimensions\[accuracy\].template_operator: unknown value"):
        load_matrix(path)
