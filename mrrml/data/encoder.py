"""Turn (prompt, answer) into token ids, and a list of those into a padded batch.

The reward model pools two positions of ONE forward pass: the last prompt token (the anchor) and the
last answer token. That is only exact if the tokens of the prompt, as the model sees them inside
``prompt ⊕ answer``, are the same tokens the prompt has on its own. Chat templates do not promise that
(Qwen3's template renders a *final* assistant turn with an empty ``<think>`` block that the generation
prompt lacks), so the encoder never renders the answer through the template: it renders the prompt with
``add_generation_prompt=True``, tokenises it, and appends the answer's tokens plus the end-of-turn token
itself. The rendered prompt is then an exact token prefix by construction.

Position conventions (the rest of the package relies on them):

* ``prompt_last`` — index of the last token of the rendered prompt (the end of the generation prompt,
  e.g. ``"assistant\\n"`` for Qwen3).
* ``answer_last`` — index of the end-of-turn token appended after the answer (``<|im_end|>`` for Qwen3,
  the EOS token otherwise). It is the last token of ``a`` as the model reads it, and it is present even
  when the answer is truncated, so the pooled position always means "the answer ends here".

Truncation keeps the END of the prompt (the question being answered and the generation prompt) and the
START of the answer, and is counted in :class:`TruncationStats`, never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from ..errors import ConfigError
from .chat import Prompt, PromptError, as_messages, check_prompt

_PLAIN_USER = "User: "
_PLAIN_ASSISTANT = "Assistant: "


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of ``prompt ⊕ answer ⊕ end-of-turn`` and the two pooled positions (unpadded)."""

    input_ids: list[int]
    prompt_last: int
    answer_last: int
    prompt_tokens_cut: int = 0
    answer_tokens_cut: int = 0


@dataclass
class TruncationStats:
    """Running counts of truncation, so callers can report how much text the model never saw."""

    examples: int = 0
    prompts_truncated: int = 0
    answers_truncated: int = 0
    tokens_cut: int = 0

    def add(self, example: EncodedExample) -> None:
        self.examples += 1
        self.prompts_truncated += int(example.prompt_tokens_cut > 0)
        self.answers_truncated += int(example.answer_tokens_cut > 0)
        self.tokens_cut += example.prompt_tokens_cut + example.answer_tokens_cut

    def as_dict(self) -> dict[str, int]:
        return {
            "examples": self.examples,
            "prompts_truncated": self.prompts_truncated,
            "answers_truncated": self.answers_truncated,
            "tokens_cut": self.tokens_cut,
        }


def _messages(prompt: Prompt) -> list[dict[str, str]]:
    try:
        return as_messages(check_prompt(prompt))
    except PromptError as error:
        raise ConfigError(str(error)) from None


class ConversationEncoder:
    """Encodes (prompt, answer) pairs for the reward model with one tokenizer and fixed length limits.

    ``max_prompt_tokens`` bounds the rendered prompt (including the template's tokens);
    ``max_answer_tokens`` bounds the answer including its end-of-turn token.
    """

    def __init__(self, tokenizer: Any, max_prompt_tokens: int = 1024, max_answer_tokens: int = 512):
        if max_prompt_tokens < 1 or max_answer_tokens < 2:
            raise ConfigError(
                "max_prompt_tokens must be >= 1 and max_answer_tokens >= 2 "
                f"(got {max_prompt_tokens}, {max_answer_tokens})"
            )
        self.tokenizer = tokenizer
        self.max_prompt_tokens = max_prompt_tokens
        self.max_answer_tokens = max_answer_tokens
        self.uses_chat_template = bool(getattr(tokenizer, "chat_template", None))
        self.end_of_turn_id = self._end_of_turn_id(tokenizer)
        self.stats = TruncationStats()

    @staticmethod
    def _end_of_turn_id(tokenizer: Any) -> int:
        # Qwen-style templates close a turn with <|im_end|>; the tokenizer's eos is that token there.
        im_end = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
        if im_end is not None and getattr(tokenizer, "chat_template", None) and "<|im_end|>" in tokenizer.chat_template:
            return int(im_end)
        if tokenizer.eos_token_id is None:
            raise ConfigError("tokenizer has neither an <|im_end|> chat template nor an eos token to end the answer")
        return int(tokenizer.eos_token_id)

    def settings(self) -> dict[str, Any]:
        """The encoder's settings as JSON (saved with a model so scoring encodes exactly as training did)."""
        return {"max_prompt_tokens": self.max_prompt_tokens, "max_answer_tokens": self.max_answer_tokens}

    def render_prompt(self, prompt: Prompt) -> str:
        """The prompt as text, ending where the assistant's answer starts."""
        messages = _messages(prompt)
        if self.uses_chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        turns = []
        for m in messages:
            label = _PLAIN_USER if m["role"] == "user" else f"{m['role'].capitalize()}: "
            turns.append(f"{label}{m['content']}\n")
        return "".join(turns) + _PLAIN_ASSISTANT

    def encode(self, prompt: Prompt, answer: str) -> EncodedExample:
        return self.encode_rendered(self.render_prompt(prompt), answer)

    def encode_rendered(self, prompt_text: str, answer: str) -> EncodedExample:
        """:meth:`encode` of a prompt already rendered by :meth:`render_prompt` (a caller that renders
        to validate, such as the reward server, renders once)."""
        if not isinstance(answer, str):
            raise ConfigError(f"answer must be a string, got {type(answer).__name__}")
        prompt_ids = self.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        answer_ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
        prompt_cut = max(0, len(prompt_ids) - self.max_prompt_tokens)
        if prompt_cut:
            prompt_ids = prompt_ids[prompt_cut:]
        answer_cut = max(0, len(answer_ids) - (self.max_answer_tokens - 1))
        if answer_cut:
            answer_ids = answer_ids[: self.max_answer_tokens - 1]
        ids = list(prompt_ids) + list(answer_ids) + [self.end_of_turn_id]
        example = EncodedExample(
            input_ids=ids,
            prompt_last=len(prompt_ids) - 1,
            answer_last=len(ids) - 1,
            prompt_tokens_cut=prompt_cut,
            answer_tokens_cut=answer_cut,
        )
        self.stats.add(example)
        return example


def pad_batch(
    examples: list[EncodedExample], pad_id: int, padding_side: Literal["right", "left"] = "right"
) -> dict[str, torch.Tensor]:
    """Pad to one length; pooled indices are shifted for left padding.

    With left padding the batch also carries ``position_ids`` that start at 0 on each row's first real
    token, so every row is positioned exactly as if it were run alone (rotary embeddings depend on it).
    """
    if not examples:
        raise ConfigError("pad_batch needs at least one example")
    if padding_side not in ("right", "left"):
        raise ConfigError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    width = max(len(e.input_ids) for e in examples)
    n = len(examples)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((n, width), dtype=torch.long)
    position_ids = torch.zeros((n, width), dtype=torch.long)
    prompt_index = torch.empty(n, dtype=torch.long)
    answer_index = torch.empty(n, dtype=torch.long)
    for row, e in enumerate(examples):
        length = len(e.input_ids)
        offset = width - length if padding_side == "left" else 0
        input_ids[row, offset : offset + length] = torch.tensor(e.input_ids, dtype=torch.long)
        attention_mask[row, offset : offset + length] = 1
        position_ids[row, offset : offset + length] = torch.arange(length)
        prompt_index[row] = offset + e.prompt_last
        answer_index[row] = offset + e.answer_last
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "prompt_index": prompt_index,
        "answer_index": answer_index,
    }
    if padding_side == "left":
        batch["position_ids"] = position_ids
    return batch
