"""Whatever an author types, loading either succeeds or raises MatrixError with in-range lines."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrrml.errors import MatrixError
from mrrml.standards.loader import load_matrix_text

from_line = st.integers(min_value=0, max_value=60)
TOKENS = [
    "",
    " ",
    ":",
    "-",
    "[",
    "{",
    "}",
    "0",
    "-3",
    "true",
    "null",
    ".nan",
    "x",
    "accuracy",
    "  ",
    "\t",
    "'",
    "&a",
    "*a",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(from_line, st.integers(0, 40), st.sampled_from(TOKENS)), min_size=1, max_size=4))
def test_mutated_matrix_loads_or_reports_located_problems(tiny_text, edits):
    lines = tiny_text.splitlines()
    for line, column, token in edits:
        i = line % len(lines)
        text = lines[i]
        column = min(column, len(text))
        lines[i] = text[:column] + token + text[column + 1 :]
    document = "\n".join(lines) + "\n"
    try:
        load_matrix_text(document, source="fuzz.yaml")
    except MatrixError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == "fuzz.yaml"
            assert problem.line is None or 1 <= problem.line <= len(lines) + 1, problem
            assert problem.message
