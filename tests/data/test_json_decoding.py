"""The one JSON decoder every reader uses: each way ``json.loads`` can fail becomes one documented error."""

from __future__ import annotations

import pytest

from mrrml.errors import RecordError
from mrrml.io import iter_jsonl, iter_raw_lines
from mrrml.jsonutil import JsonTextError, loads_json, loads_json_reply


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"\xff{}", "not UTF-8"),
        ("{nope", "invalid JSON"),
        pytest.param("[" * 100_000 + "]" * 100_000, "RecursionError", id="nesting-too-deep"),
        pytest.param("9" * 5000, "ValueError", id="int-too-long"),
    ],
)
def test_every_decoding_failure_is_json_text_error(data, needle):
    with pytest.raises(JsonTextError, match=needle):
        loads_json(data)


def test_reply_fences_are_removed():
    assert loads_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert loads_json_reply('  {"a": [1]} ') == {"a": [1]}
    with pytest.raises(JsonTextError):
        loads_json_reply("Sure! Here it is: {")


def test_one_bad_line_is_located_and_does_not_hide_the_others(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n\n\xff\xfe\r\n{"b": 2}\r' + b"[" * 50_000 + b"\n")
    assert [n for n, _ in iter_raw_lines(path)] == [1, 3, 4, 5]
    rows = iter_jsonl(path)
    assert next(rows) == (1, {"a": 1})
    with pytest.raises(RecordError) as error:
        next(rows)
    assert f"{path}:3" in str(error.value) and "UTF-8" in str(error.value)


def test_reason_has_no_position_so_failures_group_by_kind():
    reasons = set()
    for text in ("{nope", "   {nope", "x"):
        with pytest.raises(JsonTextError) as error:
            loads_json(text)
        reasons.add(error.value.reason)
    assert len(reasons) == 2  # "Expecting property name enclosed in double quotes", "Expecting value"
