"""The typed standards matrix: Dimensions × Scenarios × Disciplines, and its cell weights.

These objects are what every other layer reads (synthesis plans cells, the model builds one head
per dimension, the reward mixes head scores with :meth:`StandardsMatrix.cell_weights`). They are
frozen: a matrix is a reviewed clinical document, and nothing downstream may edit it in place.
Validation of authored YAML lives in :mod:`mrrml.standards.loader`; this module only computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ConfigError

CriterionKind = Literal["hard_rule", "principle"]
LEVELS: tuple[str, ...] = ("good", "medium", "poor")
#: Degradation families known to the template synthesis backend (one per dimension).
TEMPLATE_OPERATORS: tuple[str, ...] = (
    "accuracy",
    "completeness",
    "communication",
    "context",
    "instruction",
    "safety",
    "reasoning",
    "empathy",
)
CRITERION_KINDS: tuple[str, ...] = ("hard_rule", "principle")


@dataclass(frozen=True)
class Criterion:
    """One rubric item, HealthBench style: met → its points count (negative points penalise)."""

    text: str
    points: int
    kind: CriterionKind


@dataclass(frozen=True)
class Dimension:
    """What one reward head scores: description, rubric criteria and quality-level descriptors."""

    id: str
    name: str
    description: str
    criteria: tuple[Criterion, ...]
    levels: dict[str, str]
    template_operator: str


@dataclass(frozen=True)
class Scenario:
    """A situation of care; ``weights`` say how much each dimension matters in it."""

    id: str
    name: str
    description: str
    weights: dict[str, float]


@dataclass(frozen=True)
class Discipline:
    """A clinical field; ``scale`` multiplies scenario weights, ``criteria`` adds rubric items per dimension."""

    id: str
    name: str
    description: str
    scale: dict[str, float] = field(default_factory=dict)
    criteria: dict[str, tuple[Criterion, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    """An explicit (scenario, discipline) entry: weight overrides, or ``applicable=False`` with a reason."""

    scenario: str
    discipline: str
    applicable: bool = True
    weights: dict[str, float] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StandardsMatrix:
    """A whole matrix. Cells not listed in ``cells`` are applicable with no overrides."""

    name: str
    version: str
    description: str
    dimensions: tuple[Dimension, ...]
    scenarios: tuple[Scenario, ...]
    disciplines: tuple[Discipline, ...]
    cells: tuple[Cell, ...] = ()
    # Where it was loaded from (for messages); not part of the matrix's identity.
    source: str | None = field(default=None, compare=False)
    # Look-up tables built once; excluded from equality so a round-tripped matrix compares equal.
    _dims: dict[str, Dimension] = field(init=False, repr=False, compare=False)
    _scens: dict[str, Scenario] = field(init=False, repr=False, compare=False)
    _discs: dict[str, Discipline] = field(init=False, repr=False, compare=False)
    _cells: dict[tuple[str, str], Cell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dims", {d.id: d for d in self.dimensions})
        object.__setattr__(self, "_scens", {s.id: s for s in self.scenarios})
        object.__setattr__(self, "_discs", {c.id: c for c in self.disciplines})
        object.__setattr__(self, "_cells", {(c.scenario, c.discipline): c for c in self.cells})

    def __hash__(self) -> int:
        # The generated hash would fail on the dict fields; ids identify a matrix well enough
        # for caches, and equal matrices still hash equal.
        return hash((self.name, self.version, *self.dimension_ids, *self.scenario_ids, *self.discipline_ids))

    # ---- ids and look-ups -------------------------------------------------------------------
    @property
    def dimension_ids(self) -> list[str]:
        return [d.id for d in self.dimensions]

    @property
    def scenario_ids(self) -> list[str]:
        return [s.id for s in self.scenarios]

    @property
    def discipline_ids(self) -> list[str]:
        return [c.id for c in self.disciplines]

    def dimension(self, dimension_id: str) -> Dimension:
        return _lookup(self._dims, dimension_id, "dimension", self.name)

    def scenario(self, scenario_id: str) -> Scenario:
        return _lookup(self._scens, scenario_id, "scenario", self.name)

    def discipline(self, discipline_id: str) -> Discipline:
        return _lookup(self._discs, discipline_id, "discipline", self.name)

    def cell(self, scenario_id: str, discipline_id: str) -> Cell | None:
        """The explicit cell entry for the pair, or None when the pair uses the defaults."""
        self.scenario(scenario_id)
        self.discipline(discipline_id)
        return self._cells.get((scenario_id, discipline_id))

    # ---- cells and weights ------------------------------------------------------------------
    def is_applicable(self, scenario: str, discipline: str) -> bool:
        cell = self.cell(scenario, discipline)
        return cell is None or cell.applicable

    def applicable_cells(self) -> list[tuple[str, str]]:
        """Every applicable (scenario, discipline) pair, scenario-major in file order."""
        return [
            (s, c)
            for s in self.scenario_ids
            for c in self.discipline_ids
            if self._cells.get((s, c)) is None or self._cells[(s, c)].applicable
        ]

    def raw_cell_weights(self, scenario: str, discipline: str) -> dict[str, float]:
        """Un-normalised weights: ``scenario.weights[d] * discipline.scale.get(d, 1)``, cell overrides win.

        A dimension absent from the scenario's weights has weight 0 there (scale cannot revive
        it; only a cell override can), so a scenario lists exactly the dimensions it cares about.
        """
        cell = self.cell(scenario, discipline)
        if cell is not None and not cell.applicable:
            why = f" ({cell.reason})" if cell.reason else ""
            raise ConfigError(f"matrix '{self.name}': cell ({scenario}, {discipline}) is not applicable{why}")
        scen, disc = self.scenario(scenario), self.discipline(discipline)
        weights = {d: float(scen.weights.get(d, 0.0)) * float(disc.scale.get(d, 1.0)) for d in self.dimension_ids}
        if cell is not None and cell.weights:
            weights.update({d: float(w) for d, w in cell.weights.items()})
        return weights

    def cell_weights(self, scenario: str, discipline: str) -> dict[str, float]:
        """Weights of every dimension (matrix order) in the cell, normalised to sum 1 (docs/design.md §1)."""
        raw = self.raw_cell_weights(scenario, discipline)
        total = sum(raw.values())
        if not total > 0:
            raise ConfigError(
                f"matrix '{self.name}': cell ({scenario}, {discipline}) has all-zero weights; "
                "give the scenario a positive weight or add a cell override"
            )
        return {d: w / total for d, w in raw.items()}

    def weight_vector(self, scenario: str | None = None, discipline: str | None = None) -> list[float]:
        """Weights in dimension order for a cell, or averaged over the applicable cells matching the filter.

        ``scenario`` alone averages over that scenario's applicable disciplines, ``discipline``
        alone over its applicable scenarios, neither over every applicable cell. The mean of
        vectors that each sum to 1 sums to 1 too, so the result is always a proper mixture.
        """
        if scenario is not None:
            self.scenario(scenario)
        if discipline is not None:
            self.discipline(discipline)
        pairs = [
            (s, c)
            for s, c in self.applicable_cells()
            if (scenario is None or s == scenario) and (discipline is None or c == discipline)
        ]
        if not pairs:
            raise ConfigError(
                f"matrix '{self.name}': no applicable cell for scenario={scenario!r}, discipline={discipline!r}"
            )
        ids = self.dimension_ids
        total = [0.0] * len(ids)
        for s, c in pairs:
            weights = self.cell_weights(s, c)
            for i, d in enumerate(ids):
                total[i] += weights[d]
        return [t / len(pairs) for t in total]

    def criteria_for(self, dimension_id: str, discipline_id: str | None = None) -> tuple[Criterion, ...]:
        """The dimension's criteria, followed by the discipline's extra criteria for it (if any)."""
        base = self.dimension(dimension_id).criteria
        if discipline_id is None:
            return base
        return base + self.discipline(discipline_id).criteria.get(dimension_id, ())

    # ---- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data in the YAML file's layout (what :func:`load_matrix_text` reads back)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "dimensions": [
                {
                    "id": d.id,
                    "name": d.name,
                    "description": d.description,
                    "template_operator": d.template_operator,
                    "levels": {level: d.levels[level] for level in LEVELS},
                    "criteria": [_criterion_dict(c) for c in d.criteria],
                }
                for d in self.dimensions
            ],
            "scenarios": [
                {"id": s.id, "name": s.name, "description": s.description, "weights": dict(s.weights)}
                for s in self.scenarios
            ],
            "disciplines": [_discipline_dict(c) for c in self.disciplines],
            "cells": [_cell_dict(c) for c in self.cells],
        }

    def to_yaml(self) -> str:
        """YAML text that loads back (via :func:`load_matrix_text`) into an equal matrix."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)


def _lookup(table: dict[str, Any], key: str, what: str, matrix: str) -> Any:
    try:
        return table[key]
    except (KeyError, TypeError):
        raise ConfigError(f"matrix '{matrix}' has no {what} '{key}'; known: {', '.join(table)}") from None


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    return {"text": c.text, "points": c.points, "kind": c.kind}


def _discipline_dict(c: Discipline) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "name": c.name, "description": c.description}
    if c.scale:
        out["scale"] = dict(c.scale)
    if c.criteria:
        out["criteria"] = {d: [_criterion_dict(x) for x in items] for d, items in c.criteria.items()}
    return out


def _cell_dict(c: Cell) -> dict[str, Any]:
    out: dict[str, Any] = {"scenario": c.scenario, "discipline": c.discipline}
    if not c.applicable:
        out["applicable"] = False
    if c.weights:
        out["weights"] = dict(c.weights)
    if c.reason:
        out["reason"] = c.reason
    return out
