"""On-disk answer cache: every sampler and grader answer is kept as it arrives.

Entries are ``{"key": sha256(request), "value": ...}`` lines in a JSONL file written with
:class:`mrrml.io.JsonlAppender` (fsync per record, torn tail repaired on reopen). A killed run,
restarted with the same cache, finds every finished call and repeats none of them; the key covers
everything that determines the answer (endpoint, model, messages, sampling parameters).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from ...errors import RecordError
from ...io import JsonlAppender, decode_json_line, iter_raw_lines


def request_key(request: Any) -> str:
    """Stable SHA-256 of a JSON-serialisable request description."""
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A thread-safe key → value store backed by an append-only JSONL file."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._writer = JsonlAppender(self.path)  # repairs a torn last line first
        self._entries: dict[str, Any] = {}
        file = str(self.path)
        for line, raw in iter_raw_lines(self.path):
            try:
                record = decode_json_line(raw, file, line)
                self._entries[record["key"]] = record["value"]
            except (RecordError, KeyError, TypeError):
                raise RecordError(file, line, "key", "not a cache entry; delete the file to start over") from None
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> Any | None:
        with self._lock:
            if key in self._entries:
                self.hits += 1
                return self._entries[key]
            return None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if key not in self._entries:
                self._writer.write({"key": key, "value": value})
                self._entries[key] = value

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
