"""What every synthesis backend returns, and the interface the runner drives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..records import TripletRecord
from .planner import PlanItem


@dataclass
class GenResult:
    """One plan item's outcome: a record, or the reason there is none (malformed output, backend error)."""

    index: int
    record: TripletRecord | None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. generic fallbacks used
    # True when the failure says nothing about the item (server down, timeout): the runner does not
    # record it as done, so the next run retries it. Malformed replies are final drops.
    retryable: bool = False


class Backend(Protocol):
    name: str

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        """Yield one result per item, in any order (the runner sorts by index)."""
        ...


def record_id(matrix_name: str, seed: int, index: int) -> str:
    return f"{matrix_name}-s{seed}-{index:07d}"
