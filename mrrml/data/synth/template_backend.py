"""The template backend as a :class:`~mrrml.data.synth.base.Backend` (offline, deterministic)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..records import TripletRecord
from .answers import render
from .base import GenResult, record_id
from .planner import PlanItem
from .template import Case, make_case

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

SOURCE_PREFIX = "mrrml-synth:template:"


def condition_of(record: TripletRecord) -> str | None:
    """The case-bank condition id a template record was drawn from (its ``source`` names it), else None."""
    if not record.source.startswith(SOURCE_PREFIX):
        return None
    return record.source[len(SOURCE_PREFIX) :].split(":")[0] or None


class TemplateBackend:
    name = "template"

    def __init__(self, matrix: StandardsMatrix, seed: int, format_rate: float = 0.6):
        self.matrix, self.seed, self.format_rate = matrix, seed, format_rate

    def case(self, item: PlanItem) -> Case:
        return make_case(
            self.seed, item.index, item.scenario, item.discipline, item.operator, item.neutral, self.format_rate
        )

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        for item in items:
            case = self.case(item)
            record = TripletRecord(
                id=record_id(self.matrix.name, self.seed, item.index),
                prompt=case.prompt,
                dimension=item.dimension,
                scenario=item.scenario,
                discipline=item.discipline,
                good=render(case.good),
                poor=render(case.poor),
                medium=render(case.medium),
                neutral=render(case.neutral) if case.neutral is not None else None,
                source=f"{SOURCE_PREFIX}{case.condition.id}:{case.modifier.id}",
            )
            yield GenResult(item.index, record, notes=case.generic)
