"""The one stand-in OpenAI-compatible ``POST /v1/chat/completions`` server the tests use (127.0.0.1, real
sockets, real threads).

Whatever sits behind a ``--base-url`` in production — a vLLM or SGLang server, or a hosted API such as
OpenAI — is played by :class:`ChatStandIn` driven by a *behaviour*: a function of the request number
(from 1), the JSON body and the headers that returns ``(HTTP status, raw body bytes)``, or :data:`DROP`
to close the connection without answering (a crashed or pre-empted server). Raw bytes, rather than a
ready-made reply object, let a test send error statuses and bodies that are not chat completions at all.
The server records every request's path, body and headers and counts the requests in flight, so tests
measure retries and concurrency on the wire instead of inferring them.

It also behaves like vLLM serving a Qwen3 model where a test asks for it — each switch stands for one
real behaviour:

* ``slots`` + ``delay``: vLLM runs at most ``--max-num-seqs`` sequences at once and queues the rest; each
  request holds one of ``slots`` for ``delay`` seconds (``holds`` records when, so the capacity used can
  be measured); ``keep_alive``: connections stay open between requests, as with vLLM's HTTP server;
* ``thinking``: Qwen3 opens its reply with a ``<think>…</think>`` block unless the request's
  ``chat_template_kwargs`` say ``enable_thinking: false``;
* ``max_tokens`` is enforced: a reply longer than the budget (one token per word here) is cut and ends
  with ``finish_reason: "length"``;
* ``guided``: ``"json_schema"`` accepts ``response_format`` (guided decoding; the content the behaviour
  writes must then match the schema, else the stand-in answers 500, because a real server could not
  have produced it), ``"reject"`` answers it with 400 as a server without guided decoding does;
* :func:`rate_limited`: 429 with ``Retry-After``, as a rate-limited hosted API answers.

A behaviour returning a ``str`` gets these applied to its text; one returning raw bytes gets none.

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

# behaviour(request number from 1, body, headers) -> reply text (vLLM-like processing applied),
# (HTTP status, raw body), (HTTP status, raw body, response headers) or DROP
Behaviour = Callable[[int, dict, dict], "str | tuple[int, bytes] | tuple[int, bytes, dict[str, str]] | None"]
THINK = "<think>\nThe user asks something; let me reason before answering.\n</think>\n\n"


def completion(
    content: Any,
    usage: dict | None = None,
    *,
    model: str | None = None,
    id: str = "c",
    finish_reason: str = "stop",
) -> bytes:
    """A chat-completion body as OpenAI / vLLM send it; ``usage`` and ``model`` only when given.

    ``content`` is not restricted to text so tests can send the malformed replies clients must refuse."""
    payload: dict[str, Any] = {"id": id, "object": "chat.completion"}
    if model is not None:
        payload["model"] = model
    payload["choices"] = [
        {"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}
    ]
    if usage is not None:
        payload["usage"] = usage
    return json.dumps(payload).encode("utf-8")


def error_body(message: str) -> bytes:
    """An OpenAI-style error body (what a server sends with a non-200 status)."""
    return json.dumps({"error": {"message": message}}).encode("utf-8")


def rate_limited(behaviour: Behaviour, every: int, retry_after: str = "0.01") -> Behaviour:
    """``behaviour``, except every ``every``-th request is answered 429 with ``Retry-After`` (seconds),
    as a hosted API over its rate limit answers."""

    def limited(count: int, body: dict, headers: dict):
        if count % every == 0:
            return 429, error_body("rate limit reached"), {"Retry-After": retry_after}
        return behaviour(count, body, headers)

    return limited


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the listen backlog: a client opening 64 connections at once must not wait


class ChatStandIn:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 standing for an OpenAI-compatible endpoint (see the module doc).

    Use it as a context manager, or call :meth:`start` and :meth:`close`. ``delay`` seconds per request
    stretch a run (timeouts, kills that must land mid-run); ``on_request(n)``, when set, is called as
    request ``n`` arrives, before the delay, so a test can act at an exact point of a run."""

    def __init__(
        self,
        behaviour: Behaviour,
        delay: float = 0.0,
        *,
        slots: int | None = None,
        thinking: bool = False,
        guided: str = "json_schema",
        keep_alive: bool = False,
    ):
        if guided not in ("json_schema", "reject"):
            raise ValueError(f"guided: json_schema or reject, got {guided!r}")
        self.behaviour, self.delay, self.thinking, self.guided = behaviour, delay, thinking, guided
        self.slots = threading.BoundedSemaphore(slots) if slots else None
        self.holds: list[tuple[float, float]] = []  # (start, end) wall-clock times of every slot held
        self.on_request: Callable[[int], None] | None = None
        self.paths: list[str] = []
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self._started = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps connections open between requests, as vLLM's server does; HTTP/1.0 (the
            # default here) closes each one, so a test that stops the server stops every connection.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

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
                    result = outer._serve(count, body, headers)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1
                if result is DROP:
                    self.close_connection = True
                    return
                outer._answer(self, *result)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _serve(self, count: int, body: dict, headers: dict):
        """Wait for a slot (vLLM's queue), hold it for ``delay``, then answer."""
        if self.slots is not None:
            self.slots.acquire()
        started = time.time()
        try:
            if self.delay:
                time.sleep(self.delay)
            if "response_format" in body and self.guided == "reject":  # refused before the model runs
                return 400, error_body("response_format is not supported by this server")
            result = self.behaviour(count, body, headers)
            return self._as_vllm(result, body) if isinstance(result, str) else result
        finally:
            if self.slots is not None:
                with self.lock:
                    self.holds.append((started, time.time()))
                self.slots.release()

    def _as_vllm(self, text: str, body: dict) -> tuple[int, bytes]:
        """A reply text as vLLM would send it for this request (module doc: guided, thinking, max_tokens)."""
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        if schema is not None:
            import jsonschema

            try:
                jsonschema.validate(json.loads(text), schema)
            except (ValueError, jsonschema.ValidationError) as error:
                return 500, error_body(f"stand-in model broke the guided schema: {str(error)[:200]}")
        if self.thinking and (body.get("chat_template_kwargs") or {}).get("enable_thinking", True):
            text = THINK + text
        words = text.split(" ")
        budget = body.get("max_tokens")
        if isinstance(budget, int) and len(words) > budget:
            return 200, completion(" ".join(words[:budget]), model=body.get("model"), finish_reason="length")
        return 200, completion(text, model=body.get("model"))

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict | None = None) -> None:
        try:
            handler.send_response(status)
            extra = tuple((headers or {}).items())
            for name, value in (("Content-Type", "application/json"), ("Content-Length", str(len(data))), *extra):
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
        with self.lock:  # header names are case-insensitive (the openai SDK sends them in lower case)
            return {next((v for k, v in h.items() if k.lower() == "authorization"), "") for h in self.headers}
