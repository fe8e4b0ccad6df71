"""ConversationEncoder and pad_batch: exact prompt prefix, positions, truncation accounting."""

from __future__ import annotations

import pytest

from mrrml.data.encoder import ConversationEncoder, EncodedExample, pad_batch
from mrrml.errors import ConfigError

MULTI_TURN = [
    {"role": "system", "content": "You are a careful clinician."},
    {"role": "user", "content": "I have had a headache for three days."},
    {"role": "assistant", "content": "Any fever or stiff neck?"},
    {"role": "user", "content": "A mild fever, no stiff neck."},
]


def _prompt_ids(tokenizer, prompt):
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("prompt", ["What is a normal resting heart rate?", MULTI_TURN])
def test_prompt_is_exact_prefix_and_positions(qwen_tokenizer, prompt):
    enc = ConversationEncoder(qwen_tokenizer)
    ex = enc.encode(prompt, "Between 60 and 100 beats per minute.")
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    expected_prompt = _prompt_ids(qwen_tokenizer, messages)
    assert ex.input_ids[: len(expected_prompt)] == expected_prompt
    assert ex.prompt_last == len(expected_prompt) - 1
    assert qwen_tokenizer.decode(ex.input_ids[: ex.prompt_last + 1]).endswith("<|im_start|>assistant\n")
    # answer_last is the end-of-turn token closing the answer
    assert ex.answer_last == len(ex.input_ids) - 1
    assert ex.input_ids[ex.answer_last] == qwen_tokenizer.convert_tokens_to_ids("<|im_end|>")
    answer = qwen_tokenizer.decode(ex.input_ids[ex.prompt_last + 1 : ex.answer_last])
    assert answer == "Between 60 and 100 beats per minute."
    assert "<think>" not in qwen_tokenizer.decode(ex.input_ids)


def test_tokenizer_without_chat_template_uses_plain_format(qwen_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(qwen_tokenizer_dir, local_files_only=True)
    tok.chat_template = None
    enc = ConversationEncoder(tok)
    ex = enc.encode("Is ibuprofen safe?", "Usually, in short courses.")
    text = tok.decode(ex.input_ids)
    assert text == "User: Is ibuprofen safe?\nAssistant: Usually, in short courses." + tok.eos_token
    assert tok.decode(ex.input_ids[: ex.prompt_last + 1]) == "User: Is ibuprofen safe?\nAssistant: "


def test_truncation_keeps_prompt_end_and_answer_start_and_is_counted(qwen_tokenizer):
    enc = ConversationEncoder(qwen_tokenizer, max_prompt_tokens=12, max_answer_tokens=6)
    long_prompt = "word " * 50 + "FINAL QUESTION?"
    long_answer = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    full = ConversationEncoder(qwen_tokenizer, 10_000, 10_000).encode(long_prompt, long_answer)
    ex = enc.encode(long_prompt, long_answer)
    assert ex.prompt_last == 11 and len(ex.input_ids) == 12 + 6
    full_prompt = full.input_ids[: full.prompt_last + 1]
    assert ex.input_ids[:12] == full_prompt[-12:]  # end of the prompt kept
    assert ex.input_ids[12:17] == full.input_ids[full.prompt_last + 1 : full.prompt_last + 6]  # answer start
    assert ex.input_ids[-1] == full.input_ids[-1]  # end-of-turn still closes it
    assert ex.prompt_tokens_cut == len(full_prompt) - 12
    assert ex.answer_tokens_cut == (full.answer_last - full.prompt_last - 1) - 5
    enc.encode("short", "ok")
    assert enc.stats.as_dict() == {
        "examples": 2,
        "prompts_truncated": 1,
        "answers_truncated": 1,
        "tokens_cut": ex.prompt_tokens_cut + ex.answer_tokens_cut,
    }


def test_pad_batch_right_and_left():
    a = EncodedExample([5, 6, 7, 8], prompt_last=1, answer_last=3)
    b = EncodedExample([9, 10], prompt_last=0, answer_last=1)
    right = pad_batch([a, b], pad_id=0)
    assert right["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert right["prompt_index"].tolist() == [1, 0] and right["answer_index"].tolist() == [3, 1]
    assert "position_ids" not in right
    left = pad_batch([a, b], pad_id=0, padding_side="left")
    assert left["input_ids"].tolist() == [[5, 6, 7, 8], [0, 0, 9, 10]]
    assert left["prompt_index"].tolist() == [1, 2] and left["answer_index"].tolist() == [3, 3]
    assert left["position_ids"][1, 2:].tolist() == [0, 1]
    with pytest.raises(ConfigError):
        pad_batch([], pad_id=0)
    with pytest.raises(ConfigError, match="padding_side"):
        pad_batch([a], pad_id=0, padding_side="middle")


def test_bad_prompt_is_a_config_error(qwen_tokenizer):
    enc = ConversationEncoder(qwen_tokenizer)
    with pytest.raises(ConfigError, match=r"prompt\[0\]"):
        enc.encode([{"role": "user"}], "x")
    with pytest.raises(ConfigError):
        enc.encode([], "x")
