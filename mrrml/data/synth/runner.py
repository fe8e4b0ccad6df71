"""Resumable synthesis runs: plan -> backend -> filter -> work log -> splits + summary.

Every outcome (kept record, drop, malformed output) is appended to ``OUT/work/log.jsonl`` keyed by
plan index the moment it exists (:class:`mrrml.io.JsonlAppender`). A restarted run with the same
settings skips indices already in the log, so nothing is done twice and nothing is lost. Because each
record is a deterministic function of ``(seed, index)`` and the final files are rebuilt from the log
sorted by index, a resumed run writes byte-identical ``train/val/test.jsonl`` to an uninterrupted one.
An item a backend could not finish because its server was down is not logged, so a re-run does it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ...errors import ConfigError, RecordError
from ...io import JsonlAppender, atomic_write_json, atomic_write_text, repair_jsonl_tail
from ..records import TripletRecord, decode_json_line, iter_raw_lines, record_from_dict, record_to_dict
from .base import Backend
from .filter import ConsistencyFilter
from .planner import PlanItem, Weighting, make_plan
from .rubric import write_eval_rows

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

SPLITS = ("train", "val", "test")
Holdout = Literal["prompt", "conditions"]
HOLDOUTS = ("prompt", "conditions")


@dataclass
class SynthSettings:
    """Everything that decides *which* records a run makes; a resume must use the same settings."""

    n: int
    seed: int = 0
    weighting: Weighting = "balanced"
    neutral_rate: float = 0.3
    val_frac: float = 0.05
    test_frac: float = 0.05
    backend: str = "template"
    backend_config: dict = field(default_factory=dict)  # model, base URL... (never secrets)
    # How records are split. Not part of the resume manifest: split files are rebuilt from the work log
    # on every run, so a finished or interrupted run may be re-split either way.
    holdout: Holdout = "prompt"

    def validate(self) -> None:
        if not (0 <= self.val_frac < 1 and 0 <= self.test_frac < 1 and self.val_frac + self.test_frac < 1):
            raise ConfigError(f"val_frac/test_frac: need 0 <= each and sum < 1, got {self.val_frac}, {self.test_frac}")
        if self.holdout not in HOLDOUTS:
            raise ConfigError(f"holdout: must be one of {', '.join(HOLDOUTS)}, got {self.holdout!r}")


def split_of(prompt: object, val_frac: float, test_frac: float) -> str:
    """Split by prompt: a hash of the prompt text decides, so one prompt never lands in two splits."""
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    u = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < test_frac:
        return "test"
    if u < test_frac + val_frac:
        return "val"
    return "train"


def condition_holdout(condition_ids: list[str], val_frac: float, test_frac: float) -> dict[str, str]:
    """Assign whole case-bank conditions to splits, so val/test conditions never occur in train.

    Conditions are ranked by a hash of their id (stable across seeds and matrices, like the prompt
    split); the first ``round(test_frac * N)`` go to test and the next ``round(val_frac * N)`` to val,
    at least one each when the fraction is positive, and at least one condition always stays in train.
    """
    ids = sorted(set(condition_ids), key=lambda c: hashlib.sha256(f"mrrml-holdout:{c}".encode()).digest())
    n_test = max(1, round(test_frac * len(ids))) if test_frac > 0 else 0
    n_val = max(1, round(val_frac * len(ids))) if val_frac > 0 else 0
    if n_test + n_val >= len(ids):
        raise ConfigError(
            f"holdout conditions: {len(ids)} conditions cannot give {n_test} test and {n_val} val "
            "conditions and keep one for train; lower --val-frac/--test-frac or use --holdout prompt"
        )
    return {c: "test" if i < n_test else "val" if i < n_test + n_val else "train" for i, c in enumerate(ids)}


def _record_splitter(matrix: StandardsMatrix, settings: SynthSettings) -> tuple[Callable[[TripletRecord], str], dict]:
    """The split function for ``settings.holdout`` and its description for the summary."""
    if settings.holdout == "prompt":
        return (lambda r: split_of(r.prompt, settings.val_frac, settings.test_frac)), {"by": "prompt"}
    from .casebank import conditions_for
    from .template_backend import condition_of

    ids = [c.id for d in matrix.discipline_ids for c in conditions_for(d)[0]]
    assignment = condition_holdout(ids, settings.val_frac, settings.test_frac)

    def split(record: TripletRecord) -> str:
        cond = condition_of(record)
        if cond not in assignment:
            raise ConfigError(
                f"--holdout conditions: record {record.id!r} (source {record.source!r}) has no case-bank "
                "condition of this matrix; condition holdout works with the template backend only"
            )
        return assignment[cond]

    by_split = {s: sorted(c for c, v in assignment.items() if v == s) for s in ("val", "test")}
    return split, {
        "by": "conditions",
        "train_conditions": len(assignment) - len(by_split["val"]) - len(by_split["test"]),
        **{f"{s}_conditions": v for s, v in by_split.items()},
    }


def _matrix_fingerprint(matrix: StandardsMatrix) -> str:
    return hashlib.sha256(matrix.to_yaml().encode("utf-8")).hexdigest()[:16]


def _load_log(path: Path) -> dict[int, dict]:
    done: dict[int, dict] = {}
    if not path.exists():
        return done
    for lineno, raw in iter_raw_lines(path):
        entry = decode_json_line(raw, str(path), lineno)
        if (
            not isinstance(entry, dict)
            or isinstance(entry.get("index"), bool)
            or not isinstance(entry.get("index"), int)
        ):
            raise RecordError(
                str(path), lineno, "index", "unreadable work-log entry: expected an object with an integer index"
            )
        if ("record" in entry) == ("drop" in entry):
            raise RecordError(
                str(path), lineno, None, "unreadable work-log entry: expected exactly one of 'record', 'drop'"
            )
        if "record" in entry:  # validate now, so a bad entry is reported at its own line
            record_from_dict(entry["record"], str(path), lineno, "triplet")
        elif not isinstance(entry["drop"], str):
            raise RecordError(str(path), lineno, "drop", "must be a string")
        for key in ("notes", "events"):
            values = entry.get(key, [])
            if not isinstance(values, list) or not all(isinstance(n, str) for n in values):
                raise RecordError(str(path), lineno, key, "must be a list of strings")
        index = entry["index"]
        done.setdefault(index, entry)  # first outcome wins; duplicates cannot arise but must not double count
    return done


@dataclass
class SynthResult:
    summary: dict
    out_dir: Path


def run_synthesis(
    matrix: StandardsMatrix,
    backend: Backend,
    settings: SynthSettings,
    out_dir: str | Path,
    *,
    judge: ConsistencyFilter | None = None,
    fsync: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    emit_eval: str | Path | None = None,
) -> SynthResult:
    """Run (or resume) a synthesis job into ``out_dir``; returns the summary also written to summary.json.

    ``judge``: a consistency filter applied to every record the backend returns (the LLM backends judge
    inside their own pipeline). ``emit_eval``: also write every kept record that has a rubric as a
    HealthBench row to this file (:func:`.rubric.write_eval_rows`), rebuilt from the log like the splits.
    """
    settings.validate()
    out = Path(out_dir)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    manifest = {
        "matrix": matrix.name,
        "matrix_fingerprint": _matrix_fingerprint(matrix),
        "n": settings.n,
        "seed": settings.seed,
        "weighting": settings.weighting,
        "neutral_rate": settings.neutral_rate,
        "backend": settings.backend,
        "backend_config": settings.backend_config,
        "filter": type(judge.scorer).__name__ if judge else None,
        "neutral_tolerance": judge.neutral_tolerance if judge else None,
    }
    if settings.backend == "template":
        # The case bank and phrasing are YAML: the fingerprint covers them and the generator's code.
        from .template import generator_fingerprint

        manifest["template_fingerprint"] = generator_fingerprint()
    backend_manifest = getattr(backend, "manifest", None)
    if backend_manifest is not None:
        manifest["backend_method"] = backend_manifest()
    manifest_path = work / "manifest.json"
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        changed = sorted(k for k in manifest if previous.get(k) != manifest[k])
        if changed:
            raise ConfigError(
                f"{manifest_path}: cannot resume: settings differ from the interrupted run in "
                f"{', '.join(changed)}; use a new --out or the same settings"
            )
    else:
        atomic_write_json(manifest_path, manifest)

    plan = make_plan(matrix, settings.n, settings.seed, settings.weighting, settings.neutral_rate)
    log_path = work / "log.jsonl"
    repair_jsonl_tail(log_path)  # a kill mid-write leaves a torn last line: cut it before reading
    done = _load_log(log_path)
    resumed_from = sum(1 for item in plan if item.index in done)
    todo: list[PlanItem] = [item for item in plan if item.index not in done]
    started = time.perf_counter()
    processed = 0
    failures: Counter = Counter()
    with JsonlAppender(log_path, fsync=fsync) as log:
        for result in backend.generate(todo):
            processed += 1
            if result.retryable:  # not done: a re-run retries it
                failures[result.error or "backend failure"] += 1
                continue
            entry: dict = {"index": result.index, "notes": result.notes}
            if result.events:
                entry["events"] = result.events
            if result.judge is not None:
                entry["judge"] = result.judge
            if result.record is None:
                entry["drop"] = f"{result.stage}: {result.error}"
            else:
                reason = judge.check(result.record) if judge else None
                if reason is None:
                    entry["record"] = record_to_dict(result.record)
                else:
                    entry["drop"] = f"filter: {reason}"
                    entry["judge_scores_failed"] = result.record.dimension
            log.write(entry)
            done[result.index] = entry
            if on_progress:
                on_progress(resumed_from + processed, len(plan))
    elapsed = time.perf_counter() - started
    summary = _finish(matrix, settings, plan, done, out, log_path, emit_eval)
    summary["pending"] = sum(1 for item in plan if item.index not in done)
    summary["backend_failures_this_session"] = dict(sorted(failures.items()))
    summary["throughput"] = {
        "new_items": processed,
        "seconds": round(elapsed, 3),
        "items_per_second": round(processed / elapsed, 1) if elapsed > 0 else None,
        "resumed_from": resumed_from,
    }
    if getattr(backend, "calls", None) is not None:
        summary["throughput"]["requests"] = dict(sorted(backend.calls.items()))  # type: ignore[attr-defined]
    if judge is not None:
        summary["filter_this_session"] = judge.report.to_dict()
    atomic_write_json(out / "summary.json", summary)
    return SynthResult(summary, out)


def _finish(
    matrix: StandardsMatrix,
    settings: SynthSettings,
    plan: list[PlanItem],
    done: dict[int, dict],
    out: Path,
    log_path: Path,
    emit_eval: str | Path | None = None,
) -> dict:
    """Rebuild the split files (and the eval rows) from the log, sorted by plan index; compute the summary."""
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    counts = {"dimension": Counter(), "scenario": Counter(), "discipline": Counter()}
    drops: Counter = Counter()
    notes: Counter = Counter()
    events: Counter = Counter()
    with_rubric: list[tuple[TripletRecord, str]] = []
    neutrals = 0
    prompts: set[str] = set()
    answers: set[str] = set()
    kept = 0
    split_record, holdout = _record_splitter(matrix, settings)
    for item in plan:
        entry = done.get(item.index)
        if entry is None:  # failed retryably this session; the split files hold what is done so far
            continue
        notes.update(entry.get("notes", []))
        events.update(entry.get("events", []))
        if "record" not in entry:
            drops[entry["drop"]] += 1
            continue
        record = record_from_dict(entry["record"], str(log_path), 0, "triplet")
        assert isinstance(record, TripletRecord)
        kept += 1
        counts["dimension"][record.dimension] += 1
        counts["scenario"][record.scenario] += 1
        counts["discipline"][record.discipline] += 1
        prompt_key = record.prompt if isinstance(record.prompt, str) else json.dumps(record.prompt, sort_keys=True)
        prompts.add(prompt_key)
        answers.update(a for a in (record.good, record.medium, record.poor, record.neutral) if a is not None)
        line = json.dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True)
        split = split_record(record)
        splits[split].append(line)
        if record.rubric:
            with_rubric.append((record, split))
        neutrals += record.neutral is not None
    for name, lines in splits.items():
        atomic_write_text(out / f"{name}.jsonl", "".join(line + "\n" for line in lines))
    if emit_eval is not None:
        write_eval_rows(with_rubric, emit_eval)
    return {
        "matrix": matrix.name,
        "backend": settings.backend,
        "seed": settings.seed,
        "planned": len(plan),
        "kept": kept,
        "dropped": sum(drops.values()),
        "drop_rate": round(sum(drops.values()) / len(plan), 6) if plan else 0.0,
        "drops_by_reason": dict(sorted(drops.items())),
        "splits": {name: len(lines) for name, lines in splits.items()},
        "holdout": holdout,
        "counts": {k: dict(sorted(v.items())) for k, v in counts.items()},
        "distinct_prompts": len(prompts),
        "distinct_answers": len(answers),
        "with_neutral": neutrals,
        "with_rubric": len(with_rubric),
        "generic_fallbacks": dict(sorted(notes.items())),
        "events": dict(sorted(events.items())),
    }
