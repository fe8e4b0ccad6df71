"""Throughput of LLM synthesis (``--backend openai``) against a stand-in vLLM with fixed latency and slots.

The server is the test suite's stand-in (``tests/standin_chat.py``) playing vLLM with ``--max-num-seqs
SLOTS``: every request holds one of ``slots`` for ``latency`` seconds and waits in a queue for a free
slot, like sequences in vLLM's scheduler; the model behind it is ``tests/synth_model.py``, which does
every pipeline step (draft, counterfactual rewrite, neutral rewrite, rubric, judge). It runs in its own
process, so the client's event loop does not share an interpreter lock with it.

For each window (requests in flight, generator and judge together) a full ``run_synthesis`` makes
``records_per_slot * window`` records and the benchmark reports:

* ``records_per_s``: kept records per second of wall time;
* ``calls_per_record``: requests per planned record (draft, rewrite, neutral at the rate, rubric, one
  judge request per answer);
* ``capacity_share``: the server's slot-seconds used over what it had (``slots * wall time``), for the
  whole run (ramp-up and drain included) and for its middle half (``steady_capacity_share``).

The target is ``capacity_share >= 0.8`` at window 64 with 64 slots. Prints one JSON object.

    python benchmarks/synth_throughput.py [--latency 2] [--slots 64] [--windows 4,16,64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the stand-in and its model live in the test package


def serve(latency: float, slots: int) -> None:
    """The server process: print the base URL, answer "stats" on stdin with the slot holds, exit on EOF."""
    from tests.standin_chat import ChatStandIn
    from tests.synth_model import SynthModel

    server = ChatStandIn(SynthModel(), latency, slots=slots, keep_alive=True).start()
    print(server.base_url, flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            with server.lock:
                holds, server.holds = server.holds, []
            print(json.dumps({"holds": holds}), flush=True)
    server.close()


def share(holds: list[list[float]], start: float, end: float, slots: int) -> float:
    """Slot-seconds used within ``[start, end]`` over the ``slots * (end - start)`` available."""
    used = sum(max(0.0, min(b, end) - max(a, start)) for a, b in holds)
    return used / (slots * (end - start))


def run_window(url: str, server: subprocess.Popen, window: int, records: int, neutral_rate: float, slots: int) -> dict:
    import openai  # noqa: F401 - imported before the clock starts: a one-off cost of seconds, not throughput

    from mrrml.data.synth.openai_backend import OpenAIBackend
    from mrrml.data.synth.runner import SynthSettings, run_synthesis
    from mrrml.openai_client import ChatClient
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    matrix = load_matrix(shipped_matrix("healthbench"))
    client = ChatClient.from_env(url, "stand-in", None, timeout=600.0, max_tokens=4096)
    backend = OpenAIBackend(matrix, 0, client, window)
    settings = SynthSettings(n=records, seed=1, neutral_rate=neutral_rate, backend="openai")
    with tempfile.TemporaryDirectory() as out:
        start = time.time()
        summary = run_synthesis(matrix, backend, settings, out, fsync=True).summary
        end = time.time()
    server.stdin.write("stats\n")
    server.stdin.flush()
    stats = json.loads(server.stdout.readline())
    wall = end - start
    quarter = wall / 4
    return {
        "window": window,
        "records": records,
        "kept": summary["kept"],
        "seconds": round(wall, 2),
        "records_per_s": round(summary["kept"] / wall, 3),
        "requests": len(stats["holds"]),
        "calls_per_record": round(sum(backend.calls.values()) / records, 2),
        "capacity_share": round(share(stats["holds"], start, end, slots), 3),
        "steady_capacity_share": round(share(stats["holds"], start + quarter, end - quarter, slots), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds every request holds a slot (default 2)")
    parser.add_argument("--slots", type=int, default=64, help="requests the server runs at once (default 64)")
    parser.add_argument("--windows", default="4,16,64", help="client windows to compare (default 4,16,64)")
    parser.add_argument("--records-per-slot", type=int, default=4, help="records per window slot (default 4)")
    parser.add_argument("--neutral-rate", type=float, default=0.3, help="share of records with a neutral rewrite")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency, args.slots)
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency), "--slots", str(args.slots)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        url = server.stdout.readline().strip()
        runs = [
            run_window(url, server, w, args.records_per_slot * w, args.neutral_rate, args.slots)
            for w in (int(x) for x in args.windows.split(","))
        ]
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    at_slots = next((r for r in runs if r["window"] == args.slots), None)
    print(
        json.dumps(
            {
                "benchmark": "synth_throughput",
                "latency_s": args.latency,
                "slots": args.slots,
                "server_capacity_requests_per_s": round(args.slots / args.latency, 2),
                "runs": runs,
                "target": {
                    "window": args.slots,
                    "capacity_share_min": 0.8,
                    "met": None if at_slots is None else at_slots["capacity_share"] >= 0.8,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
