"""Remote model answers are untrusted input too: whatever an OpenAI-compatible sampler, grader or
generator sends back, the client raises only ``BackendError`` (after its bounded retries) or returns
text (hostile bodies: tests/test_openai_client.py), the grader-verdict parser raises only
``GradeParseError``, and the synthesis reply parsers never raise.
A grader that answers garbage must cost one counted failure, not the whole HealthBench run.
"""

from __future__ import annotations

import functools
import json

from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzzing import FUZZED, fuzz_settings, json_values
from tests.reliability.standin import StandInServer

HOSTILE_TEXT = [
    "[" * 3000 + "]" * 3000,
    "9" * 5000,
    '{"criteria_met": ' + "1" * 5000 + "}",
    "```json\n" + "[" * 3000 + "\n```",
    "",
    "```",
    "null",
    '{"criteria_met": "true"}',
]


def _chat_payload(content) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}).encode()


replies = (
    st.text(max_size=80)
    | st.fixed_dictionaries({"items": st.lists(json_values, max_size=3)}).map(json.dumps)
    | st.fixed_dictionaries({"scores": json_values, "criteria": json_values, "rubric": json_values}).map(json.dumps)
    | json_values.map(json.dumps)
    | json_values.map(lambda v: "```json\n" + json.dumps(v) + "\n```")
    | st.sampled_from(HOSTILE_TEXT)
)


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
def test_synthesis_step_parsers_never_raise(text):
    """Every reply parser of the LLM synthesis pipeline (draft, counterfactual, neutral, rubric, judge
    verdict) returns ``(value, None)`` or ``(None, why)`` for any text, never an exception."""
    from mrrml.data.synth.judge import judge_request
    from mrrml.data.synth.prompts import DRAFT_FIELDS, parse_counterfactual, parse_fields, parse_neutral
    from mrrml.data.synth.rubric import parse_rubric

    matrix = _matrix()
    FUZZED["synth reply parsers"] = FUZZED.get("synth reply parsers", 0) + 1
    request = judge_request(
        matrix, None, None, "q", "a", [{"criterion": "c", "points": 2, "kind": "principle", "dimension": "accuracy"}]
    )
    for value, why in (
        parse_fields(text, DRAFT_FIELDS),
        parse_counterfactual(text, "good"),
        parse_neutral(text, "good"),
        parse_rubric(text, matrix),
        request.parse(text, matrix.dimension_ids),
    ):
        assert (value is None) != (why is None)


@functools.cache
def _matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


def test_garbage_grader_costs_counted_failures_not_the_run(tmp_path):
    """End to end: a grader whose every answer nests too deep for the JSON decoder. The run must finish,
    with every item counted as failed (``items_failed``), rather than crash."""
    from tests.reliability.harness import check_artifacts
    from tests.reliability.jobs import healthbench_job, healthbench_rows

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
