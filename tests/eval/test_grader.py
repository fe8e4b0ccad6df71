"""Grader parsing, template sources, and grading through the HTTP client against stand-in servers.

The client's own retry, timeout and key-handling tests are in tests/test_openai_client.py.
"""

from __future__ import annotations

import json
import time

import pytest

from mrrml.errors import ConfigError
from mrrml.eval.healthbench.cache import ResponseCache
from mrrml.eval.healthbench.data import RubricItem
from mrrml.eval.healthbench.grader import GradeJob, GradeParseError, RubricGrader, parse_grade
from mrrml.eval.healthbench.grader_prompt import BUILTIN_TEMPLATE, load_grader_template
from mrrml.openai_client import ChatClient

from .conftest import good_grader
from .reference_impl import reference_source


@pytest.mark.parametrize(
    "text, met",
    [
        ('{"explanation": "ok", "criteria_met": true}', True),
        ('```json\n{"explanation": "no", "criteria_met": false}\n```', False),
        ('  ```\n{"criteria_met": true}\n```  ', True),
    ],
)
def test_parse_grade_accepts_json_and_fences(text, met):
    assert parse_grade(text)[0] is met


@pytest.mark.parametrize(
    "text",
    [
        '{"criteria_met": "true"}',
        '{"criteria_met": 1}',
        '{"explanation": "x"}',
        "criteria_met: true",
        "[true]",
        '```json\n{"criteria_met": tru}\n```',
        "",
        pytest.param("[" * 100_000, id="nesting-too-deep"),
        pytest.param('{"criteria_met": true, "n": ' + "9" * 5000 + "}", id="int-too-long"),
    ],
)
def test_parse_grade_is_strict(text):
    with pytest.raises(GradeParseError):
        parse_grade(text)


def test_template_sources(tmp_path):
    official = load_grader_template()
    if reference_source() is None:
        assert official.source == "builtin"
    else:
        assert official.source.startswith("package:nvidia-simple-evals")
        assert "<<conversation>>" in official.text and "criteria_met" in official.text
    assert load_grader_template(allow_package=False).text == BUILTIN_TEMPLATE
    own = tmp_path / "t.txt"
    own.write_text("C=<<conversation>> R=<<rubric_item>>")
    template = load_grader_template(str(own))
    assert template.source == f"file:{own}"
    rendered = template.render(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        RubricItem("Greets back", 2, ("axis:accuracy",)),
    )
    assert rendered == "C=user: hi\n\nassistant: yo R=[2] Greets back"
    own.write_text("no placeholders")
    with pytest.raises(ConfigError, match="lacks placeholder"):
        load_grader_template(str(own))


def _jobs(*criteria):
    convo = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    return [GradeJob(convo, RubricItem(c, 3, ("axis:accuracy",))) for c in criteria]


def test_grader_counts_malformed_and_timed_out_items(stand_in, tmp_path):
    def mixed(body):
        """Stands for an unreliable grader: prose instead of JSON on BAD items, hangs on SLOW items."""
        prompt = body["messages"][-1]["content"]
        if "BAD" in prompt:
            return 200, "I think the criterion is met."
        if "SLOW" in prompt:
            time.sleep(0.6)
        return good_grader(body)

    server = stand_in(mixed)
    client = ChatClient.from_env(server.base_url, "judge", None, timeout=0.2, max_retries=1, backoff=0.01)
    with ResponseCache(tmp_path / "g.jsonl") as cache:
        grader = RubricGrader(client, load_grader_template(), cache, concurrency=4, parse_retries=2)
        grades = grader.grade(_jobs("ok MARK_MET", "BAD item", "SLOW item", "fine MARK_UNMET"))
    assert [g.criteria_met for g in grades] == [True, None, None, False]
    assert "criteria_met" in grades[1].error or "not JSON" in grades[1].error
    assert "failed after 2 attempts" in grades[2].error
    bad_calls = sum("BAD item" in c for c in server.contents())
    slow_calls = sum("SLOW item" in c for c in server.contents())
    assert bad_calls == 3 and slow_calls == 2  # 1 + parse_retries; 1 + max_retries
    cached = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert len(cached) == 2  # failures are never cached as grades
