"""Turn OpenRLHF's ``/get_reward`` queries back into (prompt, response) pairs.

OpenRLHF's remote reward model protocol posts ``{"query": [...]}``: each query is the policy's whole
decoded sequence — chat-templated prompt, response, end-of-turn, often with pad tokens around it
(left padding, ``skip_special_tokens=False``). Newer OpenRLHF versions also send ``"prompts"``: the
templated prompt of each query. A multidimensional reward model needs the prompt and the response
apart (it pools the last token of each), so this module splits them:

1. With ``prompts`` given, the query must start with its prompt (after pad tokens are stripped);
   the rest is the response.
2. Without, the query is cut at the LAST assistant marker — the text the tokenizer's chat template
   appends as its generation prompt (``<|im_start|>assistant\\n`` for Qwen/ChatML), derived from the
   template itself rather than hard-coded.

The prompt text is then parsed back into chat messages (ChatML ``<|im_start|>role\\n...<|im_end|>``
blocks) so the model re-renders it with its own template exactly as it was trained. Text with no
ChatML blocks is taken as one user turn. Trailing pad/end-of-turn/EOS tokens are stripped from the
response (the encoder appends its own end-of-turn).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import MrrmlError

_CHATML_TURN = re.compile(r"<\|im_start\|>([^\n<]+)\n(.*?)<\|im_end\|>\s*", re.DOTALL)
_SENTINEL = "\u2063mrrml-sentinel\u2063"


class QuerySplitError(MrrmlError):
    """A query cannot be split into prompt and response; ``index`` says which one."""

    def __init__(self, index: int, message: str):
        self.index = index
        super().__init__(f"query[{index}]: {message}")


def assistant_marker(tokenizer: Any) -> str:
    """The text the chat template adds as its generation prompt (where the response starts).

    Rendering one user turn with and without ``add_generation_prompt`` and taking the difference
    finds it for any template; a tokenizer without a template falls back to ChatML's marker.
    """
    if not getattr(tokenizer, "chat_template", None):
        return "<|im_start|>assistant\n"
    turn = [{"role": "user", "content": _SENTINEL}]
    without = tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=False)
    with_prompt = tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)
    if not with_prompt.startswith(without) or with_prompt == without:
        raise MrrmlError(
            "cannot derive the assistant marker: the chat template's generation prompt "
            "is not a suffix of the rendered conversation"
        )
    return with_prompt[len(without) :]


def parse_chatml(text: str) -> list[dict[str, str]] | str:
    """ChatML text → messages; text that holds no ChatML turn is returned unchanged (one user turn).

    Anything outside the turns other than whitespace means this is not pure ChatML, so the text is
    kept whole rather than silently losing part of it.
    """
    turns = list(_CHATML_TURN.finditer(text))
    if not turns:
        return text
    covered = "".join(text[m.start() : m.end()] for m in turns)
    if "".join(text.split()) != "".join(covered.split()):
        return text
    return [{"role": m.group(1).strip(), "content": m.group(2)} for m in turns]


@dataclass(frozen=True)
class QuerySplitter:
    """Splits full query strings using one tokenizer's special tokens and assistant marker."""

    marker: str
    strip_tokens: tuple[str, ...]

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> QuerySplitter:
        specials = [getattr(tokenizer, "pad_token", None), getattr(tokenizer, "eos_token", None)]
        if "<|im_end|>" in tokenizer.get_vocab():
            specials += ["<|im_end|>", "<|endoftext|>"]
        strip = tuple(dict.fromkeys(s for s in specials if s))
        return cls(marker=assistant_marker(tokenizer), strip_tokens=strip)

    def _strip(self, text: str, *, leading: bool, trailing: bool) -> str:
        changed = True
        while changed:
            changed = False
            for token in self.strip_tokens:
                if leading and text.startswith(token):
                    text, changed = text[len(token) :], True
                if trailing and text.rstrip().endswith(token):
                    text, changed = text.rstrip()[: -len(token)], True
        return text

    def split(self, index: int, query: str, prompt: str | None = None) -> tuple[list[dict[str, str]] | str, str]:
        """One query (and optionally its templated prompt) → (prompt for the model, response text)."""
        query = self._strip(query, leading=True, trailing=False)
        if prompt is not None:
            prompt = self._strip(prompt, leading=True, trailing=False)
            if not query.startswith(prompt):
                raise QuerySplitError(index, f"does not start with prompts[{index}] (after pad tokens)")
            prompt_text, response = prompt, query[len(prompt) :]
        else:
            cut = query.rfind(self.marker)
            if cut < 0:
                raise QuerySplitError(
                    index,
                    f"holds no assistant marker {self.marker!r}; send 'prompts' too, "
                    "or use /score with separate prompts and responses",
                )
            prompt_text, response = query[:cut], query[cut + len(self.marker) :]
        if prompt_text.endswith(self.marker):
            prompt_text = prompt_text[: -len(self.marker)]
        response = self._strip(response, leading=False, trailing=True)
        parsed = parse_chatml(prompt_text)
        if isinstance(parsed, str) and not parsed.strip():
            raise QuerySplitError(index, "the prompt part is empty")
        return parsed, response
