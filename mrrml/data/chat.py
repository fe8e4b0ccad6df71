"""Prompts, and the one rule for what a well-formed prompt is.

A prompt is plain text (one user turn) or a list of chat messages. Training records, the reward
server, HealthBench rows and the encoder all accept prompts from outside, so they all check them here
and only wrap the error in their own kind (a record's file:line, an HTTP 400, a config error).
"""

from __future__ import annotations

from typing import Any

from ..errors import MrrmlError

Prompt = str | list[dict[str, str]]
"""A prompt: plain text (one user turn) or chat messages ``[{"role": ..., "content": ...}, ...]``."""

ROLES = ("system", "user", "assistant", "developer", "tool")
MESSAGE_KEYS = ("role", "content", "name")
"""``name`` is the optional author name of the OpenAI chat format; it is kept, never required."""


class PromptError(MrrmlError):
    """A malformed prompt; ``where`` is the offending part relative to the prompt (``""``, ``"[2].role"``)."""

    def __init__(self, where: str, message: str):
        self.where, self.message = where, message
        super().__init__(f"prompt{where}: {message}")


def check_prompt(value: Any, *, allow_text: bool = True) -> Prompt:
    """``value`` as a clean prompt (messages keep only their known keys), or :class:`PromptError`.

    Text must not be blank; a message list must not be empty; each message is an object with a
    ``role`` from :data:`ROLES`, string ``content`` and optionally a string ``name``, nothing else.
    ``allow_text=False`` accepts messages only (HealthBench rows)."""
    if isinstance(value, str) and allow_text:
        if not value.strip():
            raise PromptError("", "must not be empty")
        return value
    if not isinstance(value, list) or not value:
        wanted = (
            "a non-empty string or a non-empty list of chat messages"
            if allow_text
            else "a non-empty list of chat messages"
        )
        raise PromptError("", f"must be {wanted}, got {type(value).__name__}")
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise PromptError(f"[{i}]", f"must be an object with 'role' and 'content', got {type(message).__name__}")
        extra = sorted(set(message) - set(MESSAGE_KEYS))
        if extra:
            raise PromptError(f"[{i}]", f"unexpected keys {extra} (allowed: {list(MESSAGE_KEYS)})")
        role = message.get("role")
        if role not in ROLES:
            raise PromptError(f"[{i}].role", f"must be one of {list(ROLES)}, got {role!r}")
        for key in ("content", "name"):
            if (key in message or key == "content") and not isinstance(message.get(key), str):
                raise PromptError(f"[{i}].{key}", f"must be a string, got {type(message.get(key)).__name__}")
    return [{key: message[key] for key in MESSAGE_KEYS if key in message} for message in value]


def as_messages(prompt: Prompt) -> list[dict[str, str]]:
    """The prompt as chat messages (text becomes one user turn)."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
