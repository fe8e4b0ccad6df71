"""Stand-in OpenAI-compatible servers on 127.0.0.1 (real HTTP, real sockets, real threads).

Each :class:`StandIn` is the shared :class:`standin_chat.ChatStandIn` (a ``ThreadingHTTPServer`` answering
``POST /v1/chat/completions``) driven by a content-level behaviour; it records every request body so tests
can count calls and read what was asked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.standin_chat import ChatStandIn, completion, error_body

FIXTURES = Path(__file__).parent / "fixtures"

# behaviour(request_json) -> (http_status, message content on 200, else the error message)
Behaviour = Callable[[dict], tuple[int, str]]
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


class StandIn(ChatStandIn):
    """Started at once; ``requests`` is the list of request bodies received (the eval tests index it)."""

    def __init__(self, behaviour: Behaviour, delay: float = 0.0):
        def respond(count: int, body: dict, headers: dict) -> tuple[int, bytes]:
            status, content = behaviour(body)
            if status == 200:
                return status, completion(content, USAGE, model=body.get("model"), id="x")
            return status, error_body(content)

        super().__init__(respond, delay)
        self.start()

    @property
    def requests(self) -> list[dict]:  # type: ignore[override]
        with self.lock:
            return list(self.bodies)

    def contents(self) -> list[str]:
        with self.lock:
            return [r["messages"][-1]["content"] for r in self.bodies]


def marker_grade(prompt: str) -> bool:
    """MARK_MET / MARK_UNMET in the rubric item decide; otherwise a stable hash of the prompt does."""
    if "MARK_MET" in prompt:
        return True
    if "MARK_UNMET" in prompt:
        return False
    return hashlib.sha256(prompt.encode()).digest()[0] % 2 == 0


def good_grader(body: dict) -> tuple[int, str]:
    """Stands for a well-behaved grading model (e.g. GPT-4.1 behind the OpenAI API): a fenced JSON verdict."""
    met = marker_grade(body["messages"][-1]["content"])
    return 200, "```json\n" + json.dumps({"explanation": "stand-in verdict", "criteria_met": met}) + "\n```"


def policy(body: dict) -> tuple[int, str]:
    """Stands for the policy under test (e.g. a vLLM-served chat model): a reply derived from the prompt."""
    last = body["messages"][-1]["content"]
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    return 200, f"Stand-in reply ({len(last)} chars asked){' / ' + system if system else ''}: please see a clinician."


@pytest.fixture
def grader_server():
    server = StandIn(good_grader)
    yield server
    server.close()


@pytest.fixture
def policy_server():
    server = StandIn(policy)
    yield server
    server.close()


@pytest.fixture
def stand_in():
    """Factory for servers with custom behaviour; all are closed at teardown."""
    made: list[StandIn] = []

    def make(behaviour: Behaviour, delay: float = 0.0) -> StandIn:
        made.append(StandIn(behaviour, delay))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def mini_path() -> Path:
    return FIXTURES / "mini.jsonl"


@pytest.fixture
def meta_path() -> Path:
    return FIXTURES / "meta_eval_mini.jsonl"
