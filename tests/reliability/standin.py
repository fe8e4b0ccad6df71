"""A stand-in OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 (real sockets, real threads).

It answers deterministically from a hash of the request, so an interrupted-and-resumed job and an
uninterrupted one receive the same answers, and it records every request's headers, so the secret
tests can prove the API key really travelled (and so must be absent from everything written to disk).

``role`` picks the answer shape: ``grader`` (a fenced JSON verdict with a boolean ``criteria_met``),
``policy`` (a short reply), ``synth`` (one JSON triplet ``{"prompt", "good", "medium", "poor"}``).
``delay`` seconds per request stretch a run. ``fail_every=N`` answers every N-th request with HTTP 503 first, so retry paths (and their log lines)
run too without changing any final answer. ``raw`` replaces every answer body with fixed bytes.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _digest(body: dict[str, Any]) -> bytes:
    messages = json.dumps(body.get("messages"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(messages.encode("utf-8")).digest()


def answer(role: str, body: dict[str, Any]) -> str:
    """The deterministic reply content for one request."""
    digest = _digest(body)
    if role == "grader":
        return "```json\n" + json.dumps({"explanation": f"verdict {digest[:4].hex()}",
                                         "criteria_met": digest[0] % 2 == 0}) + "\n```"
    if role == "synth":
        tag = digest[:6].hex()
        return json.dumps({"prompt": f"Case {tag}: I have had a cough for three days. What should I do?",
                           "good": f"Rest, fluids, and see a clinician if it lasts beyond a week ({tag}).",
                           "medium": f"Rest and fluids ({tag}).",
                           "poor": f"Ignore it ({tag})."})
    return f"Stand-in policy answer {digest[:4].hex()}: please see a clinician if symptoms persist."


class StandInServer:
    def __init__(self, role: str = "grader", fail_every: int = 0, delay: float = 0.0,
                 raw: bytes | None = None):
        self.role, self.fail_every, self.delay = role, fail_every, delay
        self.raw = raw   # when set: answer HTTP 200 with exactly these bytes (hostile-response tests)
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with outer._lock:
                    outer.headers.append(dict(self.headers.items()))
                    outer.bodies.append(body)
                    count = len(outer.bodies)
                if outer.delay:
                    time.sleep(outer.delay)  # stretches a run so kills land in the middle of it
                if outer.fail_every and count % outer.fail_every == 0:
                    status, payload = 503, {"error": {"message": "stand-in overload, retry"}}
                else:
                    status = 200
                    payload = {"id": f"c{count}", "object": "chat.completion", "model": body.get("model"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": answer(outer.role, body)}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(payload).encode("utf-8") if outer.raw is None else outer.raw
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request: that is the point of the fault tests

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> "StandInServer":
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.bodies)

    def authorizations(self) -> set[str]:
        with self._lock:
            return {h.get("Authorization", "") for h in self.headers}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
