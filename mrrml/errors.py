"""The package's documented errors.

Every error that mrrml raises on bad input is a subclass of :class:`MrrmlError` and names where
the problem is (file:line, key path, field, or HTTP request). Callers — the CLI, the server,
fuzz tests — rely on this: anything else escaping is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class MrrmlError(Exception):
    """Base class of every error mrrml raises deliberately on bad input or bad state."""


@dataclass(frozen=True)
class Problem:
    """One located problem: ``file:line: key: message``."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class DocumentError(MrrmlError):
    """A YAML document failed to load or validate; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class MatrixError(DocumentError):
    """A standards matrix failed to load or validate."""


class ContentError(DocumentError):
    """The template generator's content files (case bank, phrasing) failed to load or validate."""


class RecordError(MrrmlError):
    """A malformed data record (JSON Lines) with the file, line and field at fault."""

    def __init__(self, file: str, line: int, field: str | None, message: str):
        self.file, self.line, self.field = file, line, field
        where = f"{file}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ConfigError(MrrmlError):
    """An invalid setting (unknown dimension, scenario, option combination...)."""


class ModelLoadError(MrrmlError):
    """A model directory is missing files, inconsistent, or would need unsafe loading."""


class BackendError(MrrmlError):
    """A generation or grading backend failed after its bounded retries."""


class TrainingError(MrrmlError):
    """Training hit a state it must not continue from (non-finite loss, ...)."""
