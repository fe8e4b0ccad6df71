"""Hypothesis budgets and strategies shared by the fuzz tests.

A fuzzed JSONL file is a list of lines, each one of: a *valid* row of the reader's format with a few
mutations (a key dropped, a value replaced by arbitrary JSON, a key added), arbitrary JSON, raw bytes
(invalid UTF-8 included), a torn prefix of a valid row, or a hostile token (deep nesting, huge
numbers, NaN/Infinity, lone surrogates). Valid-then-mutated rows reach the deep validation code that
random bytes never would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZED: dict[str, int] = {}
"""Inputs tried per target in this session (conftest prints it: the figure the report quotes)."""


def examples(base: int) -> int:
    """Examples per fuzz test: ``base`` in CI, 20x by hand (``HYPOTHESIS_PROFILE=full``) or ``MRRML_FUZZ_EXAMPLES``."""
    if os.environ.get("MRRML_FUZZ_EXAMPLES"):
        return int(os.environ["MRRML_FUZZ_EXAMPLES"])
    return base * 20 if os.environ.get("HYPOTHESIS_PROFILE") == "full" else base


def fuzz_settings(base: int) -> settings:
    return settings(
        max_examples=examples(base),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


FIELD_NAMES = [
    "id",
    "prompt",
    "dimension",
    "scenario",
    "discipline",
    "good",
    "medium",
    "poor",
    "neutral",
    "source",
    "chosen",
    "rejected",
    "response",
    "scores",
    "prompt_id",
    "rubrics",
    "example_tags",
    "criterion",
    "points",
    "tags",
    "criteria_met",
    "explanation",
    "completion",
    "key",
    "value",
    "index",
    "record",
    "drop",
    "role",
    "content",
    "ideal_completions_data",
    "binary_labels",
    "anonymized_physician_ids",
    "rubric",
    "category",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "axis:accuracy", "theme:hedging", "user", "assistant", "accuracy"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=12,
)

HOSTILE_LINES = [
    b"[" * 3000 + b"]" * 3000,  # recursion depth
    b'{"prompt": ' + b"9" * 5000 + b"}",  # int over the str->int digit limit
    b'{"scores": {"accuracy": ' + b"9" * 400 + b"}}",  # int too large for a float
    b'{"scores": {"accuracy": Infinity}, "prompt": "p", "response": "r"}',
    b'{"scores": {"accuracy": NaN}, "prompt": "p", "response": "r"}',
    b'{"prompt": "\\ud800", "response": "r", "scores": {}}',
    b"\xff\xfe\x00garbage",  # invalid UTF-8
    b"\x00\x00\x00",
    b"{" * 10,
    b"null",
    b"[]",
    b"1e999",
    b'"just a string"',
]


def _mutate(row: dict[str, Any], draw: Callable[[Any], Any]) -> dict[str, Any]:
    row = json.loads(json.dumps(row))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["drop", "replace", "add", "nested"]))
        keys = sorted(row)
        if op == "drop" and keys:
            row.pop(draw(st.sampled_from(keys)))
        elif op == "replace" and keys:
            row[draw(st.sampled_from(keys))] = draw(json_values)
        elif op == "add":
            row[draw(st.sampled_from(FIELD_NAMES))] = draw(json_values)
        elif op == "nested":
            # Reach inside a list of objects (rubrics, prompt messages) and break one field there.
            lists = [k for k in keys if isinstance(row[k], list) and row[k] and isinstance(row[k][0], dict)]
            if lists:
                inner = row[draw(st.sampled_from(lists))][0]
                inner_keys = sorted(inner)
                if inner_keys:
                    inner[draw(st.sampled_from(inner_keys))] = draw(json_values)
    return row


def jsonl_files(valid_rows: list[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Whole files: lines drawn from the mix described in the module docstring."""

    @st.composite
    def line(draw: Callable[[Any], Any]) -> bytes:
        kind = draw(st.sampled_from(["valid", "mutated", "mutated", "json", "bytes", "torn", "hostile", "blank"]))
        if kind in ("valid", "mutated", "torn"):
            row = draw(st.sampled_from(valid_rows))
            if kind == "mutated":
                row = _mutate(row, draw)
            text = json.dumps(row, ensure_ascii=draw(st.booleans())).encode("utf-8")
            if kind == "torn":
                text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
            return text
        if kind == "json":
            return json.dumps(draw(json_values)).encode("utf-8")
        if kind == "bytes":
            return draw(st.binary(max_size=40)).replace(b"\n", b" ")
        if kind == "hostile":
            return draw(st.sampled_from(HOSTILE_LINES))
        return draw(st.sampled_from([b"", b"   ", b"\t"]))

    @st.composite
    def file(draw: Callable[[Any], Any]) -> bytes:
        lines = draw(st.lists(line(), min_size=0, max_size=6))
        data = b"\n".join(lines)
        if lines and draw(st.booleans()):
            data += b"\n"
        return data

    return file()


def physical_lines(data: bytes) -> int:
    """The largest line number a reader may name for this file (universal newlines, as text mode reads)."""
    return max(1, data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1)
