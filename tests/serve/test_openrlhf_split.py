"""Splitting OpenRLHF query strings back into prompt messages and response text."""

from __future__ import annotations

import pytest

from mrrml.serve.openrlhf import QuerySplitError, QuerySplitter, assistant_marker, parse_chatml


@pytest.fixture(scope="module")
def splitter(qwen_tokenizer):
    return QuerySplitter.from_tokenizer(qwen_tokenizer)


def test_marker_comes_from_the_chat_template(qwen_tokenizer):
    assert assistant_marker(qwen_tokenizer) == "<|im_start|>assistant\n"


def test_split_multi_turn_query_with_padding(splitter, qwen_tokenizer):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Dose of paracetamol?"},
        {"role": "assistant", "content": "For whom?"},
        {"role": "user", "content": "An adult,\n70 kg."},
    ]
    prompt = qwen_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    query = "<|endoftext|>" * 3 + prompt + "Up to 4 g a day.<|im_end|><|endoftext|><|endoftext|>"
    parsed, response = splitter.split(0, query)
    assert response == "Up to 4 g a day."
    assert [m["role"] for m in parsed] == ["system", "user", "assistant", "user"]
    assert parsed[-1]["content"] == "An adult,\n70 kg."
    assert splitter.split(0, query, prompt) == (parsed, response)


def test_plain_text_prompt_is_one_user_turn(splitter):
    assert splitter.split(0, "What is BP?<|im_start|>assistant\n120/80<|im_end|>") == ("What is BP?", "120/80")


def test_unsplittable_queries_name_their_index(splitter):
    with pytest.raises(QuerySplitError, match=r"query\[4\]: holds no assistant marker"):
        splitter.split(4, "no marker")
    with pytest.raises(QuerySplitError, match=r"query\[2\]: does not start with prompts\[2\]"):
        splitter.split(2, "abc", "xyz")
    with pytest.raises(QuerySplitError, match="empty"):
        splitter.split(0, "<|im_start|>assistant\nhi")


def test_text_around_chatml_turns_is_kept_whole():
    text = "preamble <|im_start|>user\nhi<|im_end|>\n"
    assert parse_chatml(text) == text
