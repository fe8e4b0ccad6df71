"""Remote model answers are untrusted input too: whatever an OpenAI-compatible sampler, grader or
generator sends back, the clients raise only ``BackendError`` (after their bounded retries) or return
text, the grader-verdict parser raises only ``GradeParseError``, and the triplet parser never raises.
A grader that answers garbage must cost one counted failure, not the whole HealthBench run.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import FUZZED, fuzz_settings, json_values
from standin import StandInServer

HOSTILE_TEXT = ["[" * 3000 + "]" * 3000, "9" * 5000, '{"criteria_met": ' + "1" * 5000 + "}",
                "```json\n" + "[" * 3000 + "\n```", "", "```", "null", '{"criteria_met": "true"}']


def _chat_payload(content) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}).encode()


HOSTILE_BODIES = {
    "deep": b"[" * 3000 + b"]" * 3000,
    "huge-int": b'{"choices": ' + b"7" * 5000 + b"}",
    "not-utf8": b"\xff\xfe{}",
    "html": b"<html>502 Bad Gateway</html>",
    "no-choices": b'{"choices": []}',
    "content-null": _chat_payload(None),
    "content-number": _chat_payload(42),
    "content-object": _chat_payload({"text": "hi"}),
}

replies = (st.text(max_size=80) | json_values.map(json.dumps)
           | json_values.map(lambda v: "```json\n" + json.dumps(v) + "\n```") | st.sampled_from(HOSTILE_TEXT))


@fuzz_settings(200)
@given(text=replies)
def test_grader_verdict_parser_raises_only_its_error(text):
    from mrrml.eval.healthbench.grader import GradeParseError, parse_grade

    FUZZED["grader reply parser"] = FUZZED.get("grader reply parser", 0) + 1
    try:
        met, explanation = parse_grade(text)
    except GradeParseError:
        return
    assert isinstance(met, bool) and isinstance(explanation, str)


@fuzz_settings(200)
@given(text=replies)
def test_triplet_parser_never_raises(text):
    from mrrml.data.synth.prompts import parse_triplet

    FUZZED["synth reply parser"] = FUZZED.get("synth reply parser", 0) + 1
    fields, why = parse_triplet(text)
    assert (fields is None) != (why is None)


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_clients_turn_hostile_answers_into_backend_errors(case):
    from mrrml.data.synth.openai_backend import OpenAIChatClient
    from mrrml.errors import BackendError
    from mrrml.eval.openai_compat import ChatClient

    server = StandInServer(raw=HOSTILE_BODIES[case]).start()
    try:
        clients = {"eval": lambda m: ChatClient(server.base_url, "m", timeout=10, max_retries=0).complete(m).text,
                   "synth": OpenAIChatClient(server.base_url, "m", api_key_env="MRRML_UNSET_KEY_VAR", timeout=10,
                                             max_retries=0, backoff=0).complete}
        escaped = []
        for name, complete in clients.items():
            try:
                text = complete([{"role": "user", "content": "hi"}])
            except BackendError:
                continue
            except Exception as error:  # noqa: BLE001 - listing what escapes is the point
                escaped.append(f"{name}: {type(error).__name__}: {str(error)[:100]}")
                continue
            if not isinstance(text, str):
                escaped.append(f"{name}: returned {type(text).__name__} instead of text or BackendError")
    finally:
        server.close()
    assert not escaped, escaped


def test_garbage_grader_costs_counted_failures_not_the_run(tmp_path):
    """End to end: a grader whose every answer nests too deep for the JSON decoder. The run must finish,
    with every item counted as failed (``items_failed``), rather than crash."""
    from harness import check_artifacts
    from jobs import healthbench_job, healthbench_rows

    data = healthbench_rows(tmp_path / "rows.jsonl", 1)
    policy = StandInServer("policy").start()
    grader = StandInServer(raw=_chat_payload("[" * 3000 + "]" * 3000)).start()
    try:
        job = healthbench_job(tmp_path / "run", data, policy, grader)
        job.argv = (lambda argv: lambda: [*argv, "--parse-retries", "0"])(job.argv())
        job.run()
    finally:
        policy.close()
        grader.close()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["counts"]["items_failed"] == metrics["counts"]["items"] > 0
    assert not check_artifacts(tmp_path / "run")
