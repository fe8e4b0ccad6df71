"""The reward server (``mrrml serve``, a real process on 127.0.0.1) under bounded concurrent load, and
its graceful shutdown under load.

Load: 64 client threads in a closed loop for ``MRRML_LOAD_SECONDS`` (10 in CI; 30 by hand) — no request
may fail or go unanswered; throughput and latency percentiles are printed. Shutdown: SIGTERM while 32
clients keep sending — every request the server accepted is answered (checked against the server's own
request log), the rest are refused, and the process exits 0. The server runs with a bearer token and
DEBUG logging; its whole output is then searched for the token and for a wrong token a client sent.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from tests.reliability.figures import report
from tests.reliability.loadgen import one_request, run_load, start_server

WRONG_TOKEN = "rm-wrong-" + os.urandom(12).hex()


@pytest.fixture(scope="module")
def token() -> str:
    return "rm-token-" + os.urandom(12).hex()


@pytest.fixture(scope="module")
def server(tiny_rm_dir, tmp_path_factory, token):
    """One server process for the module (start-up costs seconds): the load test runs first, then the
    shutdown test stops it."""
    logs = tmp_path_factory.mktemp("serve-logs")
    process, url = start_server(tiny_rm_dir, token, logs, "--log-level", "DEBUG")
    yield process, url, logs
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_wrong_tokens_are_refused(server, token):
    _, url, _ = server
    assert one_request(url, WRONG_TOKEN, 1)[0] == "failed"  # 401; a client's mistaken token is a secret too
    assert one_request(url, None, 1)[0] == "failed"
    assert one_request(url, token, 1)[0] == "ok"


def test_load_64_clients_no_failed_or_lost_request(server, token):
    process, url, _ = server
    seconds = float(os.environ.get("MRRML_LOAD_SECONDS", "10"))
    assert one_request(url, token, 0)[0] == "ok"  # warm the model before the clock starts
    result = run_load(url, clients=64, seconds=seconds, token=token)
    report(f"load (64 clients, {seconds:g} s, POST /get_reward, tiny model): {result.describe()}")
    assert result.outcomes["ok"] == result.sent > 0, result.errors
    assert process.poll() is None


def _answered(logs) -> int:
    """Requests the server itself logged as answered with 200 (its request log, at INFO level)."""
    err = (logs / "serve.err").read_text(errors="replace")
    return len(re.findall(r'"POST /get_reward HTTP/1\.[01]" 200', err))


def test_sigterm_under_load_answers_every_accepted_request(server, token):
    """Also searches the stopped server's whole output for the tokens: this test ends the process, and
    pytest-xdist may run the module's other tests on another worker (with a server of their own)."""
    process, url, logs = server
    assert one_request(url, WRONG_TOKEN, 1)[0] == "failed"  # this server's log must have seen a wrong token
    assert one_request(url, token, 0)[0] == "ok"
    time.sleep(0.2)
    before = _answered(logs)
    stop = threading.Event()
    holder: list = []
    load = threading.Thread(
        target=lambda: holder.append(run_load(url, clients=32, seconds=60, token=token, stop=stop, until_refused=True))
    )
    load.start()
    time.sleep(2.0)
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=60) == 0
    finally:
        stop.set()
        load.join(60)
    result = holder[0]
    out = process.stdout.read().decode()
    accepted = _answered(logs) - before
    report(f"graceful shutdown under load (32 clients): {result.describe()}; server answered {accepted} with 200")
    (logs / "serve.out").write_text(out)
    # After load, wrong tokens and shutdown: neither the token nor a wrong one is in stdout/stderr
    # (checked first, so that a failure below cannot hide a leak).
    files = sorted(logs.glob("serve.*"))
    assert {p.name for p in files} == {"serve.err", "serve.out"}
    for secret in (token, WRONG_TOKEN):
        assert not [p.name for p in files if secret.encode() in p.read_bytes()]
    assert "stopped" in out
    assert result.outcomes["failed"] == result.outcomes["timeout"] == 0, result.errors
    # Every request the server took was answered to its client; a reset means it was never read.
    assert result.outcomes["ok"] == accepted, (result.outcomes, accepted, result.errors)
    assert result.outcomes["refused"] + result.outcomes["reset"] >= 1  # clients did run into the shutdown
