"""The one stand-in OpenAI-compatible ``POST /v1/chat/completions`` server the tests use (127.0.0.1, real
sockets, real threads).

Whatever sits behind a ``--base-url`` in production — a vLLM or SGLang server, or a hosted API such as
OpenAI — is played by :class:`ChatStandIn` driven by a *behaviour*: a function of the request number
(from 1), the JSON body and the headers that returns ``(HTTP status, raw body bytes)``, or :data:`DROP`
to close the connection without answering (a crashed or pre-empted server). Raw bytes, rather than a
ready-made reply object, let a test send error statuses and bodies that are not chat completions at all.
The server records every request's path, body and headers and counts the requests in flight, so tests
measure retries and concurrency on the wire instead of inferring them.

Every test area imports it as ``tests.standin_chat`` (``tests`` is a package).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = None  # behaviour result: close the connection without answering

# behaviour(request number from 1, body, headers) -> (HTTP status, raw body) or DROP
Behaviour = Callable[[int, dict, dict], "tuple[int, bytes] | None"]


def completion(content: Any, usage: dict | None = None, *, model: str | None = None, id: str = "c") -> bytes:
    """A chat-completion body as OpenAI / vLLM send it; ``usage`` and ``model`` only when given.

    ``content`` is not restricted to text so tests can send the malformed replies clients must refuse."""
    payload: dict[str, Any] = {"id": id, "object": "chat.completion"}
    if model is not None:
        payload["model"] = model
    payload["choices"] = [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]
    if usage is not None:
        payload["usage"] = usage
    return json.dumps(payload).encode("utf-8")


def error_body(message: str) -> bytes:
    """An OpenAI-style error body (what a server sends with a non-200 status)."""
    return json.dumps({"error": {"message": message}}).encode("utf-8")


class ChatStandIn:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 standing for an OpenAI-compatible endpoint (see the module doc).

    Use it as a context manager, or call :meth:`start` and :meth:`close`. ``delay`` seconds per request
    stretch a run (timeouts, kills that must land mid-run); ``on_request(n)``, when set, is called as
    request ``n`` arrives, before the delay, so a test can act at an exact point of a run."""

    def __init__(self, behaviour: Behaviour, delay: float = 0.0):
        self.behaviour, self.delay = behaviour, delay
        self.on_request: Callable[[int], None] | None = None
        self.paths: list[str] = []
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self._started = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                headers = dict(self.headers.items())
                with outer.lock:
                    outer.paths.append(self.path)
                    outer.bodies.append(body)
                    outer.headers.append(headers)
                    count = len(outer.bodies)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    if outer.on_request is not None:
                        outer.on_request(count)
                    if outer.delay:
                        time.sleep(outer.delay)
                    result = outer.behaviour(count, body, headers)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1
                if result is DROP:
                    self.close_connection = True
                    return
                outer._answer(self, *result)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        try:
            handler.send_response(status)
            for name, value in (("Content-Type", "application/json"), ("Content-Length", str(len(data)))):
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out, gave up or was killed mid-request: that is what those tests do

    def start(self) -> ChatStandIn:
        self.thread.start()
        self._started = True
        return self

    def __enter__(self) -> ChatStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._started:  # shutdown() would wait forever for a loop that never ran
            self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        """How many requests arrived (answered or not)."""
        with self.lock:
            return len(self.bodies)

    def authorizations(self) -> set[str]:
        """Every distinct ``Authorization`` header received ("" for a request without one)."""
        with self.lock:
            return {h.get("Authorization", "") for h in self.headers}
