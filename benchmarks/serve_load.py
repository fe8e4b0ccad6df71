"""Bounded load test of ``mrrml serve`` on loopback: throughput, latency percentiles, lost requests.

Starts the real server as a separate process (``mrrml serve MODEL_DIR --port 0``), runs N client
threads that each POST one-row ``/score`` requests back to back for a fixed time, stops the server
with SIGTERM (which must drain and exit 0), and prints one JSON object:

* ``requests_per_s`` — answered requests per second of the measured window;
* ``latency_ms`` — p50/p90/p99/max of the client-observed latency;
* ``failures`` — answers with a non-200 status; ``lost`` — requests that got no answer at all;
* ``server`` — the server's own counters (model calls, mean rows per call) from ``/health``, and its
  process's CPU time per answered request (``cpu_ms_per_request``, from ``/proc``; null elsewhere): on
  a CPU shared with other jobs that moves far less than requests/s does;
* ``server_software`` — the ``Server`` header, so a before/after comparison shows which stack it ran.

Without ``--model-dir`` a tiny random-init reward model (``builtin:tiny-qwen3``, the HealthBench
matrix) is built in a temporary directory. Everything stays on 127.0.0.1 and stops by itself.

    python benchmarks/serve_load.py --clients 64 --duration 30 [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

QUESTIONS = [
    "I have had a dry cough for two weeks and mild fever in the evenings. Should I be worried?",
    "My father takes warfarin. Can he take ibuprofen for his knee pain?",
    "What should I do if my toddler swallowed a button battery?",
    "How often should a person with type 2 diabetes check their feet?",
]
ANSWERS = [
    "A cough this long with fever needs a doctor's visit; tuberculosis and pneumonia should be ruled out.",
    "Ibuprofen raises the bleeding risk with warfarin; paracetamol is usually safer, but ask his doctor.",
    "Go to the emergency department now: button batteries can burn the oesophagus within hours.",
    "Every day: look for cuts, blisters, redness or swelling, and have a professional exam once a year.",
]


def _build_tiny_model(out: Path) -> Path:
    from mrrml.model.backbone import BackboneConfig
    from mrrml.model.reward_model import RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    model = RewardModel.build(
        BackboneConfig(name_or_path="builtin:tiny-qwen3"), load_matrix(shipped_matrix("healthbench"))
    )
    saved = model.save_pretrained(out)
    # torch and transformers now sit on this process's heap too: keep the load generator's own full
    # collections (hundreds of ms each) out of the latencies it measures.
    del model
    gc.collect()
    gc.freeze()
    return saved


def _post(url: str, body: dict, timeout: float) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            json.loads(response.read())
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _get(url: str) -> tuple[dict, str]:
    """(JSON body, the Server header: which HTTP stack answered)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read()), response.headers.get("Server", "")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (all its threads) so far; None without ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def _cpu_list(text: str) -> set[int]:
    """``0`` or ``0,2`` or ``0-3`` as a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", type=Path, help="saved mrrml model (default: build a tiny one)")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--max-wait-ms", type=float, default=5.0)
    p.add_argument("--timeout", type=float, default=60.0, help="per-request client timeout")
    p.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="passed to mrrml serve --torch-threads (default 1; 0 = torch's default). On a shared "
        "CPU, torch's OpenMP threads spinning against the HTTP threads cost most of the throughput",
    )
    p.add_argument(
        "--server-cpus",
        type=_cpu_list,
        help="pin the server to these CPUs (e.g. 0) and the load generator to the others, so that two "
        "servers compared on a small machine get the same CPU budget whatever their thread counts",
    )
    args = p.parse_args()
    pin_server = None
    if args.server_cpus:
        others = os.sched_getaffinity(0) - args.server_cpus
        if not others:
            raise SystemExit("--server-cpus leaves no CPU for the load generator")
        os.sched_setaffinity(0, others)

        def pin_server() -> None:
            os.sched_setaffinity(0, args.server_cpus)

    with tempfile.TemporaryDirectory(prefix="mrrml-serve-load-") as tmp:
        model_dir = args.model_dir or _build_tiny_model(Path(tmp) / "model")
        command = [
            sys.executable,
            "-c",
            "import sys; from mrrml.cli import main; sys.exit(main())",
            "serve",
            str(model_dir),
            "--port",
            "0",
            "--max-batch",
            str(args.max_batch),
            "--max-wait-ms",
            str(args.max_wait_ms),
            "--log-level",
            "WARNING",
        ]
        if args.torch_threads > 0:
            command += ["--torch-threads", str(args.torch_threads)]
        env = {k: v for k, v in os.environ.items() if k != "MRRML_SERVE_TOKEN"}
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=pin_server)
        try:
            line = server.stdout.readline()
            match = re.search(r"listening on (http://\S+)", line)
            if not match:
                raise SystemExit(f"server did not start: {line!r}")
            url = match.group(1)
            result = _load(url, args, server.pid)
            server.send_signal(signal.SIGTERM)
            result["server_exit_code"] = server.wait(60)
        finally:
            if server.poll() is None:
                server.kill()
    print(json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 and result["failures"] == 0 and result["server_exit_code"] == 0 else 1


def _load(url: str, args: argparse.Namespace, server_pid: int) -> dict:
    before, software = _get(f"{url}/health")
    cpu_before = _cpu_seconds(server_pid)
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(args.clients)]
    sent = [0] * args.clients
    lost = [0] * args.clients
    start_barrier = threading.Barrier(args.clients + 1)
    deadline = [0.0]

    def client(c: int) -> None:
        start_barrier.wait()
        i = c
        while time.monotonic() < deadline[0]:
            body = {"prompts": [QUESTIONS[i % len(QUESTIONS)]], "responses": [ANSWERS[(i // 4) % len(ANSWERS)]]}
            i += args.clients
            sent[c] += 1
            t0 = time.perf_counter()
            try:
                status = _post(f"{url}/score", body, args.timeout)
            except (OSError, ValueError):
                lost[c] += 1
                continue
            latencies[c].append(time.perf_counter() - t0)
            statuses[c][status] = statuses[c].get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(args.clients)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + args.duration
    began = time.monotonic()
    start_barrier.wait()
    for t in threads:
        t.join(args.duration + args.timeout + 30)
    elapsed = time.monotonic() - began
    cpu_after = _cpu_seconds(server_pid)
    after, _ = _get(f"{url}/health")

    merged: dict[int, int] = {}
    for s in statuses:
        for code, n in s.items():
            merged[code] = merged.get(code, 0) + n
    ok = merged.get(200, 0)
    all_latencies = sorted(x * 1000 for xs in latencies for x in xs)
    server_requests = after["requests"] - before["requests"]
    return {
        "server_software": software,
        "clients": args.clients,
        "server_cpus": sorted(args.server_cpus) if args.server_cpus else None,
        "duration_s": round(elapsed, 2),
        "sent": sum(sent),
        "ok": ok,
        "failures": sum(n for code, n in merged.items() if code != 200),
        # No answer at all: a transport error, or a client still waiting when the run ended.
        "lost": sum(lost) + sum(t.is_alive() for t in threads),
        "server_counted_requests": server_requests,
        "requests_per_s": round(ok / elapsed, 1),
        "latency_ms": {
            "p50": round(_percentile(all_latencies, 50), 1),
            "p90": round(_percentile(all_latencies, 90), 1),
            "p99": round(_percentile(all_latencies, 99), 1),
            "max": round(all_latencies[-1], 1) if all_latencies else None,
            "mean": round(statistics.fmean(all_latencies), 1) if all_latencies else None,
        },
        "server": {
            "model_calls": after["batches"] - before["batches"],
            "mean_rows_per_call": round(
                (after["rows"] - before["rows"]) / max(1, after["batches"] - before["batches"]), 2
            ),
            "max_batch": args.max_batch,
            "max_wait_ms": args.max_wait_ms,
            "torch_threads": args.torch_threads or "torch default",
            "cpu_ms_per_request": round(1000 * (cpu_after - cpu_before) / ok, 3)
            if ok and cpu_before is not None and cpu_after is not None
            else None,
        },
        "statuses": {str(k): v for k, v in sorted(merged.items())},
    }


if __name__ == "__main__":
    sys.exit(main())
