"""One prompt rule for every door a prompt comes in by: records, the reward server, HealthBench rows,
the encoder. They used to disagree (the server refused a message's ``name`` that records accepted)."""

from __future__ import annotations

import json

import pytest

from mrrml.data.chat import PromptError, check_prompt
from mrrml.data.records import record_from_dict
from mrrml.errors import ConfigError, RecordError
from mrrml.eval.healthbench.data import parse_messages
from mrrml.serve.service import RequestError, _check_prompt

NAMED = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Fever?", "name": "pat"}]
EXTRA = [{"role": "user", "content": "Fever?", "tool_calls": []}]


def _record(prompt):
    return {
        "id": "r",
        "prompt": prompt,
        "dimension": "accuracy",
        "scenario": "s",
        "discipline": "d",
        "good": "g",
        "poor": "p",
    }


def test_a_named_message_is_accepted_everywhere(qwen_tokenizer):
    from mrrml.data.encoder import ConversationEncoder

    assert check_prompt(NAMED) == NAMED
    assert record_from_dict(_record(NAMED)).prompt == NAMED
    assert _check_prompt(NAMED, "prompts[0]") == NAMED
    assert parse_messages(NAMED, "f.jsonl", 3) == NAMED
    assert ConversationEncoder(qwen_tokenizer).encode(NAMED, "Rest.").answer_last > 0


def test_an_unknown_key_is_refused_everywhere_naming_the_message(qwen_tokenizer):
    from mrrml.data.encoder import ConversationEncoder

    with pytest.raises(PromptError, match=r"prompt\[0\]: unexpected keys \['tool_calls'\]"):
        check_prompt(EXTRA)
    with pytest.raises(RecordError, match=r"f.jsonl:7: prompt\[0\]: unexpected keys"):
        record_from_dict(_record(EXTRA), "f.jsonl", 7)
    with pytest.raises(RequestError, match=r"prompts\[2\]\[0\]: unexpected keys") as caught:
        _check_prompt(EXTRA, "prompts[2]")
    assert caught.value.status == 400
    with pytest.raises(RecordError, match=r"f.jsonl:3: prompt\[0\]: unexpected keys"):
        parse_messages(EXTRA, "f.jsonl", 3)
    with pytest.raises(ConfigError, match=r"prompt\[0\]: unexpected keys"):
        ConversationEncoder(qwen_tokenizer).encode(EXTRA, "Rest.")


@pytest.mark.parametrize(
    ("prompt", "where", "message"),
    [
        ("   ", "", "must not be empty"),
        ([], "", "non-empty list"),
        ([{"role": "doctor", "content": "x"}], "[0].role", "must be one of"),
        ([{"role": "user", "content": 3}], "[0].content", "must be a string"),
        ([{"role": "user", "content": "x", "name": 1}], "[0].name", "must be a string"),
        (["hello"], "[0]", "must be an object"),
    ],
)
def test_each_defect_is_located(prompt, where, message):
    with pytest.raises(PromptError, match=message) as caught:
        check_prompt(prompt)
    assert caught.value.where == where
    json.dumps(str(caught.value))


def test_healthbench_rows_take_messages_only():
    with pytest.raises(RecordError, match="non-empty list of chat messages"):
        parse_messages("a plain string", "f.jsonl", 1)
