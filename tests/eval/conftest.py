"""Stand-in OpenAI-compatible servers on 127.0.0.1 (real HTTP, real sockets, real threads).

Each :class:`StandIn` is a ``ThreadingHTTPServer`` answering ``POST /v1/chat/completions`` with a
behaviour function; it records every request body so tests can count calls.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# behaviour(request_json) -> (http_status, message_content or raw body dict)
Behaviour = Callable[[dict], tuple[int, str]]


class StandIn:
    def __init__(self, behaviour: Behaviour, delay: float = 0.0):
        self.behaviour, self.delay = behaviour, delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.on_request: Callable[[int], None] | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:   # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append(body)
                    count = len(outer.requests)
                if outer.on_request:
                    outer.on_request(count)
                if outer.delay:
                    time.sleep(outer.delay)
                status, content = outer.behaviour(body)
                if status == 200:
                    payload = {"id": "x", "object": "chat.completion", "model": body.get("model"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                    data = json.dumps(payload).encode()
                else:
                    data = json.dumps({"error": {"message": content}}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass   # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def contents(self) -> list[str]:
        with self.lock:
            return [r["messages"][-1]["content"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
