"""A bounded concurrent load generator for the reward server: N client threads, each sending one
request at a time (so at most N in flight) until a deadline or until the server stops answering.

Every request ends in exactly one outcome, so nothing can go missing from the tally:

* ``ok`` — HTTP 200 with one reward per query;
* ``refused`` — the connection was refused (the listener is gone), or a 503 came back: the server
  declined the request before accepting it, and the client may retry it;
* ``reset`` — the connection broke after the request was sent, without a response (lost, unless the
  server never read it: the shutdown test tells the two apart with the server's own log);
* ``failed`` — any other status or a malformed answer; ``timeout`` — no answer in time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_ENV = "MRRML_RELIABILITY_TOKEN"

QUERIES = [
    "<|im_start|>user\nI have had a fever of 38.5 C for two days. What should I do?<|im_end|>\n"
    "<|im_start|>assistant\nRest, drink fluids, and see a doctor if it lasts beyond three days.<|im_end|>",
    "<|im_start|>user\nIs it safe to take ibuprofen with lisinopril?<|im_end|>\n"
    "<|im_start|>assistant\nAsk your pharmacist; NSAIDs can affect blood pressure and kidneys.<|im_end|>",
]


@dataclass
class LoadResult:
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def describe(self) -> str:
        rps = self.outcomes["ok"] / self.seconds if self.seconds else 0.0
        return (
            f"{self.sent} requests in {self.seconds:.1f} s ({rps:.1f} ok/s); outcomes {dict(self.outcomes)}; "
            f"latency p50 {1000 * self.percentile(0.50):.1f} ms, p90 {1000 * self.percentile(0.90):.1f} ms, "
            f"p99 {1000 * self.percentile(0.99):.1f} ms, max {1000 * max(self.latencies, default=0):.1f} ms"
        )


def one_request(url: str, token: str | None, index: int, timeout: float = 60.0) -> tuple[str, float, str]:
    """(outcome, seconds, detail) of one POST /get_reward."""
    parts = urlsplit(url)
    queries = [QUERIES[index % 2]] if index % 3 else QUERIES
    body = json.dumps({"query": queries}).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError:
            return "refused", time.perf_counter() - started, "connection refused"
        try:
            conn.request("POST", "/get_reward", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            return "timeout", time.perf_counter() - started, "no answer"
        except (ConnectionError, http.client.HTTPException) as error:
            return "reset", time.perf_counter() - started, f"{type(error).__name__}: {error}"
        elapsed = time.perf_counter() - started
        if response.status == 503:
            return "refused", elapsed, data[:200].decode(errors="replace")
        if response.status != 200:
            return "failed", elapsed, f"HTTP {response.status}: {data[:200]!r}"
        rewards = json.loads(data).get("rewards")
        if not isinstance(rewards, list) or len(rewards) != len(queries):
            return "failed", elapsed, f"malformed answer {data[:200]!r}"
        return "ok", elapsed, ""
    finally:
        conn.close()


def run_load(
    url: str,
    *,
    clients: int,
    seconds: float,
    token: str | None = None,
    stop: threading.Event | None = None,
    until_refused: bool = False,
) -> LoadResult:
    """``clients`` threads in a closed loop for ``seconds`` (or until ``stop``). With ``until_refused``
    a client stops at its first refusal (the server is shutting down)."""
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    stop = stop or threading.Event()

    def client(cid: int) -> None:
        i = cid
        while time.monotonic() < deadline and not stop.is_set():
            outcome, elapsed, detail = one_request(url, token, i)
            i += clients
            with lock:
                result.outcomes[outcome] += 1
                if outcome == "ok":
                    result.latencies.append(elapsed)
                elif len(result.errors) < 20 and outcome != "refused":
                    result.errors.append(f"{outcome}: {detail}")
            if until_refused and outcome == "refused":
                return

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result


def start_server(model_dir: Path, token: str, log_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """``mrrml serve`` on an ephemeral port; its stdout/stderr go to files under ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr = open(log_dir / "serve.err", "wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mrrml.cli",
            "serve",
            str(model_dir),
            "--port",
            "0",
            "--token-env",
            TOKEN_ENV,
            "--max-batch",
            "32",
            "--max-wait-ms",
            "5",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, TOKEN_ENV: token},
        start_new_session=True,
    )
    line = process.stdout.readline().decode()
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"server did not start: {line!r}\n{(log_dir / 'serve.err').read_text()[-2000:]}")
    return process, match.group(1)
