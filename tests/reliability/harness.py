"""Fault injection: run a real ``mrrml`` job as a subprocess, SIGKILL it at chosen points, resume it,
and check that nothing on disk is ever half-written.

A *kill point* is a progress threshold plus a random delay: the harness polls a job-specific progress
counter (lines in a work log or answer cache, the step of the newest checkpoint), and once it reaches
the threshold waits the delay and sends SIGKILL. Thresholds spread over the whole run, the delays
land kills at arbitrary moments (mid-append, mid-rename, during start-up and the final writes).
Kills are chained: the job is resumed after each kill and killed again at the next point, then
resumed to completion; its outputs must equal an uninterrupted run's.

After every kill :func:`check_artifacts` requires every ``.json`` file to parse and every JSON Lines
line to parse (an append-only log may end in one torn line, which its writer repairs on reopen).
Files named like temporaries (hidden, ``.tmp``, ``.part``) are not outputs; they are counted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_KILL_POINTS = 3


def kill_points(default: int = DEFAULT_KILL_POINTS) -> int:
    """Kill points per job: ``MRRML_KILL_POINTS`` (the campaign uses 20+), else ``default``."""
    return int(os.environ.get("MRRML_KILL_POINTS", default))


def is_temporary(path: Path) -> bool:
    return any(part.startswith(".") for part in path.parts) or path.suffix in (".tmp", ".part")


def check_artifacts(root: Path, *, appendable: Callable[[Path], bool] = lambda p: False) -> list[str]:
    """Problems with the output files under ``root`` (empty list = all complete).

    ``appendable(path)`` marks append-only logs, which may end in one torn line right after a kill.
    """
    problems: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if is_temporary(rel):
            continue
        if path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
            except (ValueError, UnicodeDecodeError) as error:
                problems.append(f"{rel}: not complete JSON: {error}")
        elif path.suffix == ".jsonl":
            data = path.read_bytes()
            lines = data.split(b"\n")
            torn_tail = lines[-1] != b""
            if torn_tail and not appendable(path):
                problems.append(f"{rel}: ends without a newline (half-written)")
            body = lines[:-1] if not torn_tail or appendable(path) else lines
            for number, line in enumerate(body, start=1):
                if not line.strip():
                    continue
                try:
                    json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
                except (ValueError, UnicodeDecodeError) as error:
                    problems.append(f"{rel}:{number}: not a complete JSON line: {error}")
    return problems


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


def temporaries(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if is_temporary(p.relative_to(root)))


@dataclass
class Job:
    """One resumable command. ``progress()`` reads how far it got from its files."""

    name: str
    argv: Callable[[], list[str]]  # after ``python -m mrrml.cli``; asked anew at each (re)start
    root: Path  # every file the job writes lives under here
    progress: Callable[[], int]
    env: dict[str, str] = field(default_factory=dict)
    appendable: Callable[[Path], bool] = lambda p: False
    timeout: float = 300.0

    def popen(self, log_name: str) -> subprocess.Popen:
        logs = self.root.parent / f"{self.root.name}-logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **self.env}
        return subprocess.Popen(
            [sys.executable, "-m", "mrrml.cli", *self.argv()],
            cwd=str(REPO),
            env=env,
            stdout=open(logs / f"{log_name}.out", "wb"),
            stderr=open(logs / f"{log_name}.err", "wb"),
            start_new_session=True,
        )

    def logs(self) -> list[Path]:
        return sorted((self.root.parent / f"{self.root.name}-logs").glob("*"))

    def run(self, log_name: str = "complete") -> None:
        """Run to completion; a non-zero exit fails with the job's stderr."""
        proc = self.popen(log_name)
        try:
            rc = proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise AssertionError(f"{self.name}: did not finish within {self.timeout} s") from None
        if rc != 0:
            err = (self.root.parent / f"{self.root.name}-logs" / f"{log_name}.err").read_text(errors="replace")
            raise AssertionError(f"{self.name} ({log_name}) exited {rc}:\n{err[-3000:]}")


@dataclass
class KillOutcome:
    threshold: int
    delay: float
    killed: bool  # False: the job finished before the kill point (counts as not survived)
    progress_at_kill: int
    problems: list[str]


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the job's own session: no stray children keep writing
    except ProcessLookupError:
        pass
    proc.wait()


def kill_once(job: Job, threshold: int, delay: float, log_name: str) -> KillOutcome:
    """Start (or resume) the job, SIGKILL it once ``progress() >= threshold`` plus ``delay`` seconds."""
    proc = job.popen(log_name)
    deadline = time.monotonic() + job.timeout
    while proc.poll() is None and job.progress() < threshold and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is None:
        time.sleep(delay)
    if proc.poll() is not None:
        return KillOutcome(
            threshold, delay, False, job.progress(), check_artifacts(job.root, appendable=job.appendable)
        )
    _kill(proc)
    return KillOutcome(threshold, delay, True, job.progress(), check_artifacts(job.root, appendable=job.appendable))


def campaign(job: Job, thresholds: list[int], *, seed: int, max_delay: float) -> list[KillOutcome]:
    """Kill the job at each threshold in turn (resuming in between), then run it to completion."""
    rng = random.Random(seed)
    outcomes = []
    for i, threshold in enumerate(thresholds):
        outcomes.append(kill_once(job, threshold, rng.uniform(0.0, max_delay), f"kill{i:02d}"))
    job.run("resumed")
    return outcomes


def size_of(*paths: Path) -> Callable[[], int]:
    """A progress counter: total bytes of the given (append-only) files."""

    def progress() -> int:
        return sum(p.stat().st_size for p in paths if p.exists())

    return progress


def spread(total: int, points: int, seed: int, start: int = 0) -> list[int]:
    """``points`` increasing progress thresholds spread over ``[start, total)`` (one per equal slice)."""
    rng = random.Random(seed)
    width = (total - start) / points
    return [start + int(i * width + rng.uniform(0, width)) for i in range(points)]
