"""Fault injection over the real CLI: ``mrrml synth`` (template and LLM backends), ``mrrml fit`` and ``mrrml healthbench run`` are
SIGKILLed at spread-out progress points (with random delays), resumed each time, and must end with the
same outputs as an uninterrupted run; after every kill no output file may be half-written.

CI runs ``MRRML_KILL_POINTS`` kill points per job (default 3; fit 1, as each of its relaunches pays
10-20 s of torch/Lightning imports on the shared 2-core machine). The campaign (>= 20 per job) is the
same tests by hand::

    MRRML_KILL_POINTS=20 .venv/bin/pytest -m campaign tests/reliability -s
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.reliability.figures import report
from tests.reliability.harness import campaign, check_artifacts, kill_points, spread, temporaries
from tests.reliability.jobs import (
    fit_data,
    fit_job,
    healthbench_job,
    healthbench_rows,
    synth_job,
    synth_openai_job,
)
from tests.reliability.standin import StandInServer

pytestmark = pytest.mark.campaign
SPLITS = ("train.jsonl", "val.jsonl", "test.jsonl")
# Figures that depend on wall time or on where a run was resumed, not on what it produced.
VOLATILE_SUMMARY = ("throughput", "filter_this_session")


def _summarise(name: str, outcomes, temps: list[Path]) -> None:
    survived = sum(o.killed and not o.problems for o in outcomes)
    report(
        f"kill campaign {name}: {survived}/{len(outcomes)} kill points survived "
        f"(progress at kill: {[o.progress_at_kill for o in outcomes]}); "
        f"temporary files left behind by kills: {len(temps)} {[str(t) for t in temps][:4]}"
    )


def _assert_all_survived(outcomes) -> None:
    not_reached = [o.threshold for o in outcomes if not o.killed]
    assert not not_reached, f"the job finished before kill points {not_reached}: make it longer"
    broken = [p for o in outcomes for p in o.problems]
    assert not broken, "half-written outputs after a kill:\n" + "\n".join(broken)


# ---------------------------------------------------------------------------------------- synth
def test_synth_killed_and_resumed_equals_uninterrupted(tmp_path):
    n = 2500
    reference = synth_job(tmp_path / "ref", n)
    reference.run()
    total = reference.progress()
    job = synth_job(tmp_path / "killed", n)
    outcomes = campaign(job, spread(total, kill_points(), seed=11), seed=11, max_delay=0.03)
    _assert_same_synth_outputs("synth", outcomes, job, reference, n)


def _assert_same_synth_outputs(name: str, outcomes, job, reference, n: int) -> dict:
    """Every kill survived; split files and summary equal the uninterrupted run's; each plan index is in
    the work log exactly once (nothing repeated, nothing lost). Returns the summary."""
    _summarise(name, outcomes, temporaries(job.root))
    _assert_all_survived(outcomes)
    assert not check_artifacts(job.root)
    for split in SPLITS:
        assert (job.root / split).read_bytes() == (reference.root / split).read_bytes(), split
    got, want = (json.loads((r / "summary.json").read_text()) for r in (job.root, reference.root))
    for key in VOLATILE_SUMMARY:
        got.pop(key, None), want.pop(key, None)
    assert got == want
    indices = [json.loads(line)["index"] for line in (job.root / "work" / "log.jsonl").read_text().splitlines()]
    assert sorted(indices) == list(range(n))
    return got


def test_synth_openai_killed_and_resumed_equals_uninterrupted(tmp_path):
    """The LLM pipeline (``--backend openai`` against a stand-in vLLM): killed at spread-out points while
    requests are in flight, resumed, it ends with the uninterrupted run's files; no item is lost or
    logged twice, and only items in flight at a kill are asked again."""
    n, window = 24, 8
    server = StandInServer("synth", delay=0.01).start()
    try:
        reference = synth_openai_job(tmp_path / "ref", n, server, window)
        reference.run()
        requests_uninterrupted = server.requests
        job = synth_openai_job(tmp_path / "killed", n, server, window)
        before = server.requests
        outcomes = campaign(job, spread(reference.progress(), kill_points(), seed=5), seed=5, max_delay=0.05)
        requests_with_kills = server.requests - before
    finally:
        server.close()
    summary = _assert_same_synth_outputs("synth-openai", outcomes, job, reference, n)
    assert summary["kept"] > 0 and summary["with_rubric"] > 0 and summary["with_neutral"] > 0
    # an item is redone only if it was in flight at a kill: at most 2 * window items, ~9 requests each
    assert requests_with_kills <= requests_uninterrupted + len(outcomes) * 2 * window * 9


# ---------------------------------------------------------------------------------- healthbench
def test_healthbench_killed_and_resumed_equals_uninterrupted(tmp_path):
    """Kills while the policy is sampled (the first point) and while rubric items are graded: every
    answer and grade that arrived before a kill is kept, so only calls in flight are repeated."""
    data = healthbench_rows(tmp_path / "rows.jsonl", 8)
    policy, grader = StandInServer("policy", delay=0.05).start(), StandInServer("grader", delay=0.01).start()
    try:
        reference = healthbench_job(tmp_path / "ref", data, policy, grader)
        reference.run()
        calls_uninterrupted, samples_uninterrupted = grader.requests, policy.requests
        total = reference.progress()
        sampled = (reference.root / "cache" / "samples.jsonl").stat().st_size
        thresholds = [sampled // 2, *spread(total, max(1, kill_points() - 1), seed=7, start=sampled)]
        job = healthbench_job(tmp_path / "killed", data, policy, grader)
        before, samples_before = grader.requests, policy.requests
        outcomes = campaign(job, thresholds, seed=7, max_delay=0.03)
        calls_with_kills, samples_with_kills = grader.requests - before, policy.requests - samples_before
    finally:
        policy.close()
        grader.close()
    assert outcomes[0].progress_at_kill < sampled  # the first kill landed while sampling
    _summarise("healthbench", outcomes, temporaries(job.root))
    _assert_all_survived(outcomes)
    assert not check_artifacts(job.root)
    assert (job.root / "graded.jsonl").read_bytes() == (reference.root / "graded.jsonl").read_bytes()
    got, want = (json.loads((r / "metrics.json").read_text()) for r in (job.root, reference.root))
    assert got["metrics"] == want["metrics"] and got["counts"] == want["counts"]
    # Only calls in flight at a kill may be repeated (at most concurrency per kill), never finished ones.
    assert calls_with_kills <= calls_uninterrupted + 2 * len(outcomes)
    assert samples_with_kills <= samples_uninterrupted + 2 * len(outcomes)


# ------------------------------------------------------------------------------------------ fit
def _weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    tensors = {}
    for file in sorted(model_dir.rglob("*.safetensors")):
        for key, value in load_file(file).items():
            tensors[f"{file.relative_to(model_dir)}:{key}"] = value
    return tensors


def test_fit_killed_and_resumed_equals_uninterrupted(tmp_path):
    import torch

    points = kill_points(1)
    steps = max(6, points + 4)  # about one kill point per training step, so each kill lands on new progress
    data = fit_data(tmp_path / "train.jsonl", 24)
    reference = fit_job(tmp_path / "ref", data, steps)
    # The reference runs beside the kill chain: the relaunches, not the steps, cost the time.
    failure: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(reference.run, failure))
    thread.start()
    job = fit_job(tmp_path / "killed", data, steps)
    thresholds = sorted(spread(steps, points, seed=3, start=1))
    outcomes = campaign(job, thresholds, seed=3, max_delay=1.0)
    thread.join()
    assert not failure, failure
    _summarise("fit", outcomes, temporaries(job.root))
    _assert_all_survived(outcomes)
    assert not check_artifacts(job.root)
    got, want = _weights(job.root / "model"), _weights(reference.root / "model")
    assert got.keys() == want.keys()
    for key in want:
        assert torch.allclose(got[key], want[key], atol=1e-6), key
    pickles = [p for p in (job.root / "model").rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    assert not pickles


def _capture(fn, failures: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as error:
        failures.append(error)
