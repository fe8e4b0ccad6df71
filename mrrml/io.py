"""Crash-safe file output shared by every long job (synthesis, training reports, HealthBench caches).

Two rules make a killed run lose nothing and corrupt nothing:
* whole files are written to a temporary sibling, fsynced, then renamed over the target
  (:func:`atomic_write_text`), so a reader sees the old file or the new one, never half;
* append-only logs (:class:`JsonlAppender`) flush and fsync every record; on reopen, a torn last
  line left by a kill is cut off (:func:`repair_jsonl_tail`) instead of being read as data.

Reading JSON Lines back goes through :func:`iter_raw_lines` and :func:`decode_json_line` (or
:func:`iter_jsonl`, both together): lines are read as bytes and decoded one at a time, so one bad byte,
number or nesting depth is a ``RecordError`` naming its ``file:line`` instead of a crash of the whole file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import RecordError
from .jsonutil import JsonTextError, loads_json


def _read_umask() -> int:
    """The process umask; ``os.umask`` can only be read by setting it, so set it back at once (done once,
    at import, before any worker threads exist)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files with mode 0600 (it is meant for private temporaries); a renamed-into-place output
# file must get the mode a plain open() would give it, or other users and tools cannot read results.
_FILE_MODE = 0o666 & ~_read_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _FILE_MODE)
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
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()/__exit__

    def write(self, obj: Any) -> None:
        self._handle.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_raw_lines(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """``(line_number, bytes)`` for each non-blank line, numbered with universal newlines as text mode
    (and every editor) counts them; bytes, so one line that is not UTF-8 cannot stop the whole file."""
    with open(path, "rb") as handle:
        data = handle.read()
    for number, raw in enumerate(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"), start=1):
        try:
            blank = not raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            blank = False  # reported as a located error by decode_json_line
        if not blank:
            yield number, raw


def decode_json_line(raw: bytes, file: str, line: int) -> Any:
    """Decode one JSON Lines line; ``RecordError`` naming ``file:line`` for bytes that are not UTF-8 or
    text that is not JSON (including a number too long or nesting too deep to decode)."""
    try:
        return loads_json(raw)
    except JsonTextError as error:
        raise RecordError(file, line, None, str(error)) from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """``(line_number, decoded value)`` for each non-blank line; the first unreadable line raises a
    ``RecordError`` naming it. Callers that must skip bad lines use :func:`iter_raw_lines` and
    :func:`decode_json_line` themselves."""
    file = str(path)
    for number, raw in iter_raw_lines(path):
        yield number, decode_json_line(raw, file, number)
