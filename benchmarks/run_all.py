"""Run every benchmark in ``benchmarks/`` and print each one's JSON object (one per line).

Usage: ``python benchmarks/run_all.py [--only name,name] [--out DIR]`` (``make bench`` runs it).

A benchmark is any ``benchmarks/*.py`` that does not start with ``_`` (helpers) other than this file;
each runs in its own process with its defaults and must print ONE JSON object as its last stdout line.
A failing benchmark is reported as ``{"benchmark": name, "error": ...}`` and the exit status is 1, but
the others still run: one broken row must not hide the rest of the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


# Orchestrators, not benchmarks: this file, and the GPU check (which runs the others itself).
NOT_BENCHMARKS = (Path(__file__).name, "gpu_check.py")


def benchmarks() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name not in NOT_BENCHMARKS)


def run_one(path: Path, extra: list[str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(path), *extra], capture_output=True, text=True, cwd=HERE.parent)
    elapsed = round(time.perf_counter() - start, 1)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode == 0 and lines:
        try:
            result = json.loads(lines[-1])
            if isinstance(result, dict):
                result.setdefault("benchmark", path.stem)
                result["wall_s"] = elapsed
                return result
        except json.JSONDecodeError:
            pass
    return {
        "benchmark": path.stem,
        "error": f"exit {proc.returncode}",
        "wall_s": elapsed,
        "stderr_tail": proc.stderr[-2000:],
        "stdout_tail": proc.stdout[-500:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (file stems)")
    parser.add_argument("--out", type=Path, default=None, help="also write NAME.json files here")
    args = parser.parse_args(argv)
    wanted = {n for n in args.only.split(",") if n}
    failed = False
    for path in benchmarks():
        if wanted and path.stem not in wanted:
            continue
        result = run_one(path, [])
        failed = failed or "error" in result
        print(json.dumps(result), flush=True)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{path.stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
