"""The HTTP reward server: stdlib ``ThreadingHTTPServer``, loopback by default, no new dependency.

Endpoints (JSON in, JSON out):

* ``GET /health`` — liveness and batching counters; the only endpoint open without the token, so
  orchestrators can probe it.
* ``GET /info`` — dimensions, matrix name/version, model settings, server limits.
* ``POST /score`` — ``{"prompts", "responses", "scenario"?, "discipline"?}`` → per-dimension scores.
* ``POST /get_reward`` — OpenRLHF's remote reward protocol, ``{"query": [...]}`` → ``{"rewards": [...]}``.

Order of checks for each request, cheapest and least revealing first: token (401) → route (404/405)
→ ``Content-Length`` present and within limit, *before* the body is read (411/413) → JSON (400) →
fields (400, naming the field). The token is compared in constant time and never logged.

Shutdown is graceful: :meth:`RewardServer.stop` stops accepting connections, answers those already
waiting in the listen backlog with 503 (closing the socket would reset them), waits for every request
handler already running (their rows are still being scored by the batcher), then drains and stops
the batcher. :meth:`RewardServer.serve_until_signal` wires that to SIGTERM/SIGINT for the CLI.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..jsonutil import JsonTextError, loads_json
from .service import RequestError, RewardService, ServeSettings

logger = logging.getLogger("mrrml.serve")

# An error answered before the body was read still drains it (discarded, never buffered): closing a
# socket with unread input makes the kernel send a reset, and the client would see a broken pipe
# instead of the 4xx. Beyond this many bytes the connection is simply closed.
_DRAIN_LIMIT = 64 * 1024 * 1024
_ROUTES = ("/get_reward", "/health", "/info", "/score")


class _HTTPServer(ThreadingHTTPServer):
    # Non-daemon handler threads + block_on_close: server_close() waits for in-flight requests.
    daemon_threads = False
    block_on_close = True
    # Many RL workers connect at once; the default backlog of 5 makes the kernel drop SYNs.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], service: RewardService):
        self.service = service
        self.refusing = False
        super().__init__(address, _Handler)

    def refuse_pending(self) -> int:
        """After the accept loop stopped: take the connections the kernel already completed (they sit in
        the listen backlog) and answer each with 503, so closing the socket resets none of them and a
        client learns to retry elsewhere instead of seeing its request vanish. Returns how many."""
        self.refusing = True
        self.socket.setblocking(False)
        taken = 0
        # Bounded: clients that keep reconnecting while we drain must not keep the server alive.
        while taken < 4 * self.request_queue_size:
            try:
                connection, address = self.socket.accept()
            except OSError:  # BlockingIOError: the backlog is empty
                break
            connection.setblocking(True)
            taken += 1
            self.process_request(connection, address)
        return taken


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "mrrml-serve"
    # One request per connection: no idle keep-alive threads to wait for at shutdown.
    protocol_version = "HTTP/1.0"
    # A client that stalls mid-request loses its connection instead of pinning a thread.
    timeout = 30

    # ---- plumbing ---------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        # Request line and status only: headers (and so the token) are never logged.
        logger.info("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, allow_nan=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error_json(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.close_connection = True
        if not self._body_read:
            self._drain_body()
        self._send_json(status, {"error": message, "status": status}, headers)

    def _drain_body(self) -> None:
        self._body_read = True
        try:
            remaining = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if not 0 < remaining <= _DRAIN_LIMIT:
            return
        self.connection.settimeout(2.0)
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
        except (TimeoutError, OSError):
            pass

    def _authorized(self) -> bool:
        token = self.server.service.settings.token
        if not token:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(supplied.strip().encode("utf-8"), token.encode("utf-8"))

    def _read_json(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(411, "chunked bodies are not accepted; send Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise RequestError(411, "Content-Length is required")
        try:
            length = int(length_header)
        except ValueError:
            raise RequestError(400, f"Content-Length: not an integer: {length_header!r}") from None
        limit = self.server.service.settings.max_body_bytes
        if length < 0:
            raise RequestError(400, f"Content-Length: negative: {length}")
        if length > limit:
            raise RequestError(413, f"body of {length} bytes exceeds the limit of {limit} bytes")
        self._body_read = True
        raw = self.rfile.read(length)
        if len(raw) != length:
            raise RequestError(400, f"body ended after {len(raw)} of {length} bytes")
        try:
            return loads_json(raw)
        except JsonTextError as error:
            raise RequestError(400, f"body: not valid UTF-8 JSON: {error}") from None

    # ---- dispatch ---------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        self._body_read = False
        path = urlsplit(self.path).path.rstrip("/") or "/"
        service = self.server.service
        try:
            if self.server.refusing:
                self._send_error_json(503, "the server is shutting down", {"Retry-After": "1"})
                return
            if path == "/health" and method == "GET":
                self._send_json(200, service.health())
                return
            if not self._authorized():
                self._send_error_json(
                    401, "missing or wrong bearer token", {"WWW-Authenticate": 'Bearer realm="mrrml"'}
                )
                return
            readers: dict[str, Callable[[], dict[str, Any]]] = {"/info": service.info, "/health": service.health}
            writers: dict[str, Callable[[Any], dict[str, Any]]] = {
                "/score": service.score,
                "/get_reward": service.get_reward,
            }
            if path in readers or path in writers:
                allowed = "GET" if path in readers else "POST"
                if method != allowed:
                    self._send_error_json(405, f"{path} accepts {allowed} only", {"Allow": allowed})
                elif method == "GET":
                    self._send_json(200, readers[path]())
                else:
                    self._send_json(200, writers[path](self._read_json()))
                return
            self._send_error_json(404, f"no endpoint {path}; known: {list(_ROUTES)}")
        except RequestError as error:
            self._send_error_json(error.status, str(error))
        except (BrokenPipeError, ConnectionResetError):
            logger.info("%s: client went away", self.address_string())
        except Exception as error:  # a bug or a model failure: say so, keep serving
            logger.exception("internal error on %s %s", method, path)
            self._send_error_json(500, f"internal error: {type(error).__name__}: {error}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


class RewardServer:
    """A reward model behind HTTP. ``start()``/``stop()`` for tests and embedding; the CLI uses
    :meth:`serve_until_signal`. Port 0 binds an ephemeral port (read it back from :attr:`port`)."""

    def __init__(self, model: Any, settings: ServeSettings = ServeSettings()):
        self.service = RewardService(model, settings)
        try:
            self.httpd = _HTTPServer((settings.host, settings.port), self.service)
        except OSError:
            self.service.close()
            raise
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> RewardServer:
        """Serve from a background thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="mrrml-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop accepting, finish in-flight requests, drain the batcher. Safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.httpd.shutdown()  # the accept loop exits; no new connections are taken
        self.httpd.refuse_pending()  # connections already in the backlog get a 503, not a reset
        self.httpd.server_close()  # closes the socket, joins every running handler thread
        if not self.service.close(timeout):
            logger.warning("the batcher did not stop within %s s", timeout)

    def serve_until_signal(self) -> None:
        """Serve in this (main) thread until SIGTERM or SIGINT, then stop gracefully."""

        def on_signal(signum: int, _frame: Any) -> None:
            logger.info("%s received: finishing in-flight requests", signal.Signals(signum).name)
            # shutdown() waits for the accept loop, which runs in this thread: call it from another.
            threading.Thread(target=self.httpd.shutdown, name="mrrml-shutdown", daemon=True).start()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stopped.set()
            self.httpd.refuse_pending()
            self.httpd.server_close()
            self.service.close()

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
