"""Crash-safe file output shared by every long job (synthesis, training reports, HealthBench caches).

Two rules make a killed run lose nothing and corrupt nothing:
* whole files are written to a temporary sibling, fsynced, then renamed over the target
  (:func:`atomic_write_text`), so a reader sees the old file or the new one, never half;
* append-only logs (:class:`JsonlAppender`) flush and fsync every record; on reopen, a torn last
  line left by a kill is cut off (:func:`repair_jsonl_tail`) instead of being read as data.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def repair_jsonl_tail(path: str | os.PathLike) -> int:
    """Cut a torn final line (no trailing newline) left by a killed writer; return bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        # Walk back to the last newline; everything after it is the torn record.
        block = 4096
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            handle.seek(start)
            chunk = handle.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                handle.truncate(keep)
                return size - keep
            pos = start
        handle.truncate(0)
        return size


class JsonlAppender:
    """Append JSON objects one per line, durable per record; safe to reopen after a kill."""

    def __init__(self, path: str | os.PathLike, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired_bytes = repair_jsonl_tail(self.path)
        self._fsync = fsync
        self._handle = open(self.path, "a", encoding="utf-8")

    def write(self, obj: Any) -> None:
        self._handle.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_jsonl_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each non-blank line (1-based numbers, for error messages)."""
    with open(path, "r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line
