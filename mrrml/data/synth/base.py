"""What every synthesis backend returns, and the interface the runner drives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..records import TripletRecord
from .planner import PlanItem


@dataclass
class GenResult:
    """One plan item's outcome: a record, or the reason there is none.

    ``error`` is a final drop reason, written to the work log as ``"{stage}: {error}"``: ``backend`` for
    output the generator could not produce (malformed or truncated replies), ``filter`` for a judge's
    verdict. ``retryable`` marks a failure that says nothing about the item (the server is down, timed
    out, refused the key): the runner does not record it as done, so the next run retries it — an
    outage never becomes a final drop.
    """

    index: int
    record: TripletRecord | None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. generic fallbacks used (template backend)
    retryable: bool = False
    stage: str = "backend"
    # What happened on the way (rubric resampled or dropped, neutral removed, draft repaired...); counted
    # in the summary.
    events: list[str] = field(default_factory=list)
    # The judge's scores per answer and dimension, kept in the work log beside the outcome.
    judge: dict[str, Any] | None = None


class Backend(Protocol):
    name: str

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        """Yield one result per item, in any order (the runner sorts by index)."""
        ...


def record_id(matrix_name: str, seed: int, index: int) -> str:
    return f"{matrix_name}-s{seed}-{index:07d}"
