"""The HTTP reward server: the FastAPI app of :mod:`mrrml.serve.app` on uvicorn, loopback by default.

:class:`RewardServer` binds its socket when it is built (so a busy port fails there, and port 0 is
known at once), runs uvicorn's event loop in a background thread, and stops it with uvicorn's own
graceful shutdown: stop accepting, let every request already taken finish (its rows are being scored
by the batcher), close idle connections; then the batcher is drained and stopped.
:meth:`RewardServer.serve_until_signal` wires that to SIGTERM/SIGINT for the CLI.

uvicorn's httptools protocol (its C parser costs half the CPU per request of the pure-Python h11) is
used with four changes (:class:`_Protocol`, :class:`_Uvicorn`), each keeping
a guarantee the server gave before uvicorn and that uvicorn does not give by itself:

* a client that stalls while sending its request is disconnected after ``STALL_TIMEOUT_S`` (uvicorn
  waits for request bytes without a limit);
* a client that half-closes its side after sending the request (``shutdown(SHUT_WR)``) still gets the
  answer; uvicorn takes the end of input as a disconnect (Kludex/uvicorn#1264);
* a malformed request line or header gets the JSON error body every other error has;
* at shutdown, connections the kernel completed but the loop has not accepted yet (the listen
  backlog), and connections accepted but whose request has not arrived yet, get a 503 "shutting
  down" instead of a reset: uvicorn closes the listening socket and such connections outright.

A served process holds the whole of torch and transformers on its heap (about half a million objects
for the smallest model), and every request leaves some objects behind long enough to be promoted to
the oldest generation, so Python's cyclic collector keeps running full collections over that heap:
each stops the event loop and the model thread for hundreds of milliseconds, which is what the slowest
requests wait for. :meth:`RewardServer.serve_until_signal` (the process the CLI owns) therefore moves
everything that exists once the model is loaded out of the collector's reach (``gc.freeze()``), so a
full collection only walks what was allocated while serving. ``/health`` reports the frozen count and
the full collections so far. Measured before/after: docs/benchmarks.md, "Serving load".
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import build_app, error_payload
from .service import RewardService, ServeSettings

if TYPE_CHECKING:
    from ..model.reward_model import RewardModel

logger = logging.getLogger("mrrml.serve")

STALL_TIMEOUT_S = 30.0
# At shutdown, how long a connection that has sent no request yet may take to send one (it gets a 503).
SHUTDOWN_GRACE_S = 2.0
# Many RL workers connect at once; a short backlog makes the kernel drop SYNs.
BACKLOG = 2048


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the stall timeout, half-close and JSON 400 of the module docstring."""

    stall_timeout = STALL_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._stall: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._watch_for_stall()

    def _waiting_for_request_bytes(self) -> bool:
        cycle = self.cycle
        return cycle is None or cycle.response_complete or cycle.more_body

    def _watch_for_stall(self) -> None:
        """(Re)start the stall timer while a request is coming in; stop it once the request is complete."""
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        if self._waiting_for_request_bytes() and not self.transport.is_closing():
            self._stall = self.loop.call_later(self.stall_timeout, self._stalled)

    def _stalled(self) -> None:
        logger.info("%s: no request bytes for %g s; closing the connection", self.client, self.stall_timeout)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_for_stall()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stall is not None:
            self._stall.cancel()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:
        """The client closed its sending side. Keep the connection open if an answer is still owed."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return None  # nothing owed: close
        if cycle.more_body and not cycle.response_started:
            self.send_400_response("the request body ended before its Content-Length")
            return None
        cycle.keep_alive = False  # answer, then close
        return True

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(error_payload(400, f"malformed HTTP request: {msg}")).encode()
        head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(body)
        self.transport.write(head + b"connection: close\r\n\r\n" + body)
        self.transport.close()

    def shutdown(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            # Connected, request not here yet: give it a moment to arrive and be refused with a 503.
            self.stall_timeout = SHUTDOWN_GRACE_S
            self._watch_for_stall()
            return
        super().shutdown()


class _Uvicorn(uvicorn.Server):
    """uvicorn's server that answers the listen backlog at shutdown and says when it is serving."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, draining: threading.Event):
        super().__init__(config)
        self.listener = listener
        self.draining = draining
        self.loop: asyncio.AbstractEventLoop | None = None  # the serving loop (tests hold it to fill the backlog)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.draining.set()  # from here every new request is answered 503
        loop = asyncio.get_running_loop()
        for _ in range(BACKLOG):  # bounded: clients that keep reconnecting must not keep us here
            try:
                connection, _ = self.listener.accept()
            except OSError:  # BlockingIOError: the backlog is empty
                break
            connection.setblocking(False)
            await loop.connect_accepted_socket(self._new_protocol, connection)
        await super().shutdown(sockets)

    def _new_protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port fails in the constructor. Created with an explicit
    ``IPPROTO_TCP``: asyncio sets ``TCP_NODELAY`` on accepted sockets only when their ``proto`` says TCP,
    and ``socket.create_server`` leaves it 0 — then Nagle holds each response body back until the client
    acknowledges the headers, which a delaying client does only after tens of milliseconds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def freeze_heap() -> None:
    """Collect once, then exclude every surviving object from later collections (module docstring).

    Only for a process that serves until it exits: an object frozen here is never collected, even if it
    later becomes cyclic garbage, so an embedding process (tests, notebooks) keeps the default."""
    gc.collect()
    gc.freeze()


class RewardServer:
    """A reward model behind HTTP. ``start()``/``stop()`` for tests and embedding; the CLI uses
    :meth:`serve_until_signal`. Port 0 binds an ephemeral port (read it back from :attr:`port`)."""

    def __init__(self, model: RewardModel, settings: ServeSettings = ServeSettings()):
        self.service = RewardService(model, settings)
        try:
            self.listener = _listen(settings.host, settings.port)
        except OSError:
            self.service.close()
            raise
        self.draining = threading.Event()
        self.app = build_app(self.service, self.draining)
        config = uvicorn.Config(
            self.app,
            http=_Protocol,
            loop="asyncio",
            ws="none",
            lifespan="off",
            log_config=None,  # the CLI's logging setup stays; uvicorn's access log goes through it
            proxy_headers=False,
            backlog=BACKLOG,
        )
        self.uvicorn = _Uvicorn(config, self.listener, self.draining)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.listener.getsockname()[0]
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> RewardServer:
        """Serve from a background thread; returns once uvicorn is serving."""
        self._thread = threading.Thread(
            target=self.uvicorn.run, kwargs={"sockets": [self.listener]}, name="mrrml-http", daemon=True
        )
        self._thread.start()
        while not self.uvicorn.started:
            if not self._thread.is_alive():
                raise RuntimeError("the HTTP server stopped during start-up; see the log")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop accepting, finish in-flight requests, drain the batcher. Safe to call twice.
        ``timeout`` bounds the wait for the batcher; in-flight requests end within the request timeout."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._thread is None:
            self.listener.close()
        else:
            self.uvicorn.should_exit = True  # uvicorn notices within 0.1 s and shuts down gracefully
            self._thread.join()
        if not self.service.close(timeout):
            logger.warning("the batcher did not stop within %s s", timeout)

    def serve_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT (call from the main thread), then stop gracefully. uvicorn's own
        signal handling is not used: it re-raises the signal after shutdown, and the CLI exits 0."""
        requested = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            logger.info("%s received: finishing in-flight requests", signal.Signals(signum).name)
            requested.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            freeze_heap()
            self.start()
            assert self._thread is not None
            while self._thread.is_alive() and not requested.wait(0.5):
                continue
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
