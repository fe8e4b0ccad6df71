"""Resumable runs: an interrupted job, resumed, writes byte-identical split files with no duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrrml.data.synth.filter import ConsistencyFilter, RuleJudge
from mrrml.data.synth.runner import SynthSettings, condition_holdout, run_synthesis, split_of
from mrrml.data.synth.template_backend import TemplateBackend
from mrrml.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SPLIT_FILES = ("train.jsonl", "val.jsonl", "test.jsonl")


class _Crash(Exception):
    pass


class CrashingBackend(TemplateBackend):
    """The template backend, but the process 'dies' (raises) when it reaches the k-th item of this session."""

    def __init__(self, matrix, seed, crash_at):
        super().__init__(matrix, seed)
        self.crash_at = crash_at

    def generate(self, items):
        for k, result in enumerate(super().generate(items)):
            if k == self.crash_at:
                raise _Crash(f"simulated crash at item {k}")
            yield result


def _run(matrix, out, backend=None, **kw):
    settings = SynthSettings(n=400, seed=11, neutral_rate=0.3, val_frac=0.1, test_frac=0.1)
    return run_synthesis(
        matrix,
        backend or TemplateBackend(matrix, 11),
        settings,
        out,
        judge=ConsistencyFilter(RuleJudge(matrix), 0.0),
        fsync=False,
        **kw,
    )


def test_crash_and_resume_is_byte_identical(tmp_path, mrrml_matrix):
    full = _run(mrrml_matrix, tmp_path / "full")
    with pytest.raises(_Crash):
        _run(mrrml_matrix, tmp_path / "resumed", CrashingBackend(mrrml_matrix, 11, crash_at=137))
    assert not (tmp_path / "resumed" / "train.jsonl").exists()
    # a torn half line, as a kill during a write leaves behind, must be repaired, not read as data
    with open(tmp_path / "resumed" / "work" / "log.jsonl", "a") as handle:
        handle.write('{"index": 999, "rec')
    resumed = _run(mrrml_matrix, tmp_path / "resumed")
    assert resumed.summary["throughput"]["resumed_from"] == 137
    assert resumed.summary["throughput"]["new_items"] == 400 - 137
    for name in SPLIT_FILES:
        assert (tmp_path / "full" / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes()
    log = [json.loads(l)["index"] for l in (tmp_path / "resumed" / "work" / "log.jsonl").read_text().splitlines()]
    assert sorted(log) == list(range(400))  # every index exactly once
    assert full.summary["kept"] == resumed.summary["kept"]


def test_resume_with_other_settings_is_refused(tmp_path, mrrml_matrix):
    _run(mrrml_matrix, tmp_path)
    with pytest.raises(ConfigError, match="seed"):
        run_synthesis(mrrml_matrix, TemplateBackend(mrrml_matrix, 12), SynthSettings(n=400, seed=12), tmp_path)


def test_split_by_prompt_is_deterministic_and_proportional():
    splits = [split_of(f"prompt {i}", 0.1, 0.2) for i in range(5000)]
    assert splits == [split_of(f"prompt {i}", 0.1, 0.2) for i in range(5000)]
    assert abs(splits.count("test") / 5000 - 0.2) < 0.03 and abs(splits.count("val") / 5000 - 0.1) < 0.03
    assert split_of([{"role": "user", "content": "x"}], 0.5, 0.5) in ("val", "test")


def test_killed_cli_run_resumes_to_identical_files(tmp_path):
    """A real `mrrml synth` process is SIGKILLed mid-run, then re-run with the same arguments."""
    args = [
        "synth",
        "--matrix",
        str(REPO / "standards" / "healthbench.yaml"),
        "--n",
        "1500",
        "--seed",
        "2",
        "--fsync",
        "off",
        "--quiet",
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mrrml.cli.__init__", *args, "--out", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log = killed / "work" / "log.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and log.stat().st_size > 200_000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; raise --n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(log.read_text().splitlines())
    assert 0 < partial < 1500
    from mrrml.cli import main

    assert main([*args, "--out", str(killed)]) == 0
    assert main([*args, "--out", str(tmp_path / "clean")]) == 0
    for name in SPLIT_FILES:
        assert (killed / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["throughput"]["resumed_from"] >= partial - 1 and summary["planned"] == 1500


def _conditions_by_split(out: Path) -> dict[str, set[str]]:
    from mrrml.data.records import read_records
    from mrrml.data.synth.template_backend import condition_of

    return {
        name: {condition_of(r) for r in read_records(out / f"{name}.jsonl").records}
        for name in ("train", "val", "test")
    }


def test_condition_holdout_keeps_val_and_test_conditions_out_of_train(tmp_path, mrrml_matrix):
    """--holdout conditions: whole conditions are held out; the same work log can be re-split either way."""
    settings = SynthSettings(n=800, seed=4, neutral_rate=0.3)
    judge = ConsistencyFilter(RuleJudge(mrrml_matrix), 0.0)
    by_prompt = run_synthesis(
        mrrml_matrix, TemplateBackend(mrrml_matrix, 4), settings, tmp_path, judge=judge, fsync=False
    )
    assert by_prompt.summary["holdout"] == {"by": "prompt"}
    prompt_files = {name: (tmp_path / name).read_bytes() for name in SPLIT_FILES}
    leaks = _conditions_by_split(tmp_path)
    assert leaks["train"] & (leaks["val"] | leaks["test"])  # the default split shares conditions across splits

    settings.holdout = "conditions"  # not part of the resume manifest: splits are rebuilt from the log
    held = run_synthesis(mrrml_matrix, TemplateBackend(mrrml_matrix, 4), settings, tmp_path, judge=judge, fsync=False)
    assert held.summary["throughput"]["new_items"] == 0 and held.summary["kept"] == by_prompt.summary["kept"]
    info = held.summary["holdout"]
    assert info["by"] == "conditions" and info["val_conditions"] and info["test_conditions"]
    got = _conditions_by_split(tmp_path)
    assert got["val"] == set(info["val_conditions"]) and got["test"] == set(info["test_conditions"])
    assert not got["train"] & got["val"] and not got["train"] & got["test"] and not got["val"] & got["test"]
    assert all(held.summary["splits"][s] > 0 for s in ("train", "val", "test"))
    prompts = {
        name: {json.loads(l)["prompt"] for l in (tmp_path / f"{name}.jsonl").read_text().splitlines()}
        for name in ("train", "val", "test")
    }
    assert not prompts["train"] & (prompts["val"] | prompts["test"])

    settings.holdout = "prompt"  # and back: the default split is byte-identical to the first run
    run_synthesis(mrrml_matrix, TemplateBackend(mrrml_matrix, 4), settings, tmp_path, judge=judge, fsync=False)
    assert {name: (tmp_path / name).read_bytes() for name in SPLIT_FILES} == prompt_files


def test_condition_holdout_assignment_and_errors():
    ids = [f"c{i}" for i in range(40)]
    assignment = condition_holdout(ids, 0.05, 0.05)
    assert assignment == condition_holdout(list(reversed(ids)), 0.05, 0.05)  # order-independent
    assert sorted(assignment.values()).count("test") == 2 and sorted(assignment.values()).count("val") == 2
    assert set(condition_holdout(ids, 0.0, 0.1).values()) == {"train", "test"}
    with pytest.raises(ConfigError, match="keep one for train"):
        condition_holdout(["a", "b"], 0.3, 0.3)
    with pytest.raises(ConfigError, match="holdout"):
        SynthSettings(n=1, holdout="discipline").validate()  # type: ignore[arg-type]


def test_condition_holdout_refuses_records_without_a_condition(tmp_path, mrrml_matrix):
    """Records from an LLM backend carry no case-bank condition: a clear error, not a silent mis-split."""
    import dataclasses

    class NoCondition(TemplateBackend):
        def generate(self, items):
            for result in super().generate(items):
                result.record = dataclasses.replace(result.record, source="mrrml-synth:openai:model-x")
                yield result

    settings = SynthSettings(n=20, seed=1, holdout="conditions")
    with pytest.raises(ConfigError, match="template backend only"):
        run_synthesis(mrrml_matrix, NoCondition(mrrml_matrix, 1), settings, tmp_path, fsync=False)


def test_resume_after_a_generator_change_is_refused(tmp_path, mrrml_matrix):
    """A work log written by another version of the case bank must not be topped up with new records."""
    _run(mrrml_matrix, tmp_path)
    manifest = tmp_path / "work" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["template_fingerprint"] = "0" * 16
    manifest.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="template_fingerprint"):
        _run(mrrml_matrix, tmp_path)


def test_the_resume_fingerprint_covers_the_content_files(tmp_path, mrrml_matrix):
    """The case bank is YAML now: an edited content file must change the fingerprint a resume checks."""
    from mrrml.data.synth.template import generator_fingerprint

    _run(mrrml_matrix, tmp_path)
    manifest = json.loads((tmp_path / "work" / "manifest.json").read_text())
    assert manifest["template_fingerprint"] == generator_fingerprint()


def test_work_log_entries_of_llm_runs_are_validated(tmp_path, mrrml_matrix):
    """LLM runs log ``events`` (rubric resampled, neutral removed, ...) and the judge's scores beside each
    outcome; a resumed run reads them back, and a malformed ``events`` list is reported at its line."""
    from mrrml.errors import RecordError

    _run(mrrml_matrix, tmp_path)
    log = tmp_path / "work" / "log.jsonl"
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps(first | {"events": ["rubric resampled"], "judge": {"good": {"x": 9}}})
    log.write_text("\n".join(lines) + "\n")
    assert _run(mrrml_matrix, tmp_path).summary["events"] == {"rubric resampled": 1}
    lines[1] = json.dumps(json.loads(lines[1]) | {"events": "rubric resampled"})
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=r"log.jsonl:2: events: must be a list of strings"):
        _run(mrrml_matrix, tmp_path)
