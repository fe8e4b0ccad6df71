"""A stand-in OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 (real sockets, real threads):
the shared :class:`standin_chat.ChatStandIn` with the reliability tests' behaviour.

It answers deterministically from a hash of the request, so an interrupted-and-resumed job and an
uninterrupted one receive the same answers, and it records every request's headers, so the secret
tests can prove the API key really travelled (and so must be absent from everything written to disk).

``role`` picks the answer shape: ``grader`` (a fenced JSON verdict with a boolean ``criteria_met``),
``policy`` (a short reply), ``synth`` (the generator-and-judge model of every LLM synthesis step,
:class:`tests.synth_model.SynthModel`, served the way vLLM serves it: guided JSON, ``max_tokens`` cuts).
``delay`` seconds per request stretch a run. ``fail_every=N`` answers every N-th request with HTTP 503 first, so retry paths (and their log lines)
run too without changing any final answer. ``raw`` replaces every answer body with fixed bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.standin_chat import ChatStandIn, completion, error_body
from tests.synth_model import SynthModel

USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def _digest(body: dict[str, Any]) -> bytes:
    messages = json.dumps(body.get("messages"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(messages.encode("utf-8")).digest()


def answer(role: str, body: dict[str, Any]) -> str:
    """The deterministic reply content for one request."""
    digest = _digest(body)
    if role == "grader":
        return (
            "```json\n"
            + json.dumps({"explanation": f"verdict {digest[:4].hex()}", "criteria_met": digest[0] % 2 == 0})
            + "\n```"
        )
    return f"Stand-in policy answer {digest[:4].hex()}: please see a clinician if symptoms persist."


class StandInServer(ChatStandIn):
    def __init__(self, role: str = "grader", fail_every: int = 0, delay: float = 0.0, raw: bytes | None = None):
        self.role, self.fail_every = role, fail_every
        self.raw = raw  # when set: answer with exactly these bytes (hostile-response tests)
        self.model = SynthModel()
        super().__init__(self._respond, delay)  # the delay stretches a run so kills land in the middle of it

    def _respond(self, count: int, body: dict[str, Any], headers: dict[str, str]) -> str | tuple[int, bytes]:
        if self.raw is not None:
            return 200, self.raw
        if self.fail_every and count % self.fail_every == 0:
            return 503, error_body("stand-in overload, retry")
        if self.role == "synth":
            return self.model(count, body, headers)
        return 200, completion(answer(self.role, body), USAGE, model=body.get("model"), id=f"c{count}")
