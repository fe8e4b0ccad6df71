"""YAML → :class:`StandardsMatrix`, reporting every problem at once with file:line and key path.

Matrices are written by clinicians, not programmers, so one run of ``validate`` must list every
mistake, each pointing at the line to fix. The located-YAML reader (:mod:`mrrml.located_yaml`)
keeps a position for every key and value and collects problems instead of stopping at the first;
this module adds the matrix's sections and its cross-section checks (references between sections,
weights that survive scaling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike

from yaml.nodes import Node, ScalarNode, SequenceNode

from ..errors import MatrixError, Problem
from ..located_yaml import MISSING, LocatedReader, compose, join, node_kind, read_source, suggest
from .matrix import (
    CRITERION_KINDS,
    LEVELS,
    TEMPLATE_OPERATORS,
    Cell,
    Criterion,
    Dimension,
    Discipline,
    Scenario,
    StandardsMatrix,
)
from .schema import CELL, CRITERION, DIMENSION, DISCIPLINE, LEVEL, SCENARIO, TOP


def load_matrix(path: str | PathLike[str]) -> StandardsMatrix:
    """Read and validate a matrix file; raises :class:`MatrixError` listing every problem."""
    return load_matrix_text(read_source(path, MatrixError, "matrix"), source=str(path))


def load_matrix_text(text: str, source: str = "<text>") -> StandardsMatrix:
    """Parse and validate matrix YAML held in memory; ``source`` names it in problems."""
    return _Reader(source).read(text)


@dataclass
class _Parsed:
    """What the walk keeps for the cross-section checks, with the lines to blame."""

    dimensions: list[Dimension] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    disciplines: list[Discipline] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    scenario_lines: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> weights line, path
    scale_lines: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> scale (or item) line, path
    cell_lines: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    zero_scenarios: set[str] = field(default_factory=set)


class _Reader(LocatedReader):
    """One validation pass over one matrix document; collects problems, builds the matrix if there are none."""

    def __init__(self, source: str):
        super().__init__(source)
        # Every id declared in a section, even by an item with other problems, so that a
        # reference to it is not reported a second time as "unknown".
        self.dimension_ids: list[str] = []
        self.scenario_ids: list[str] = []
        self.discipline_ids: list[str] = []

    # ---- entry point ----------------------------------------------------------------------
    def read(self, text: str) -> StandardsMatrix:
        root = compose(text, self.source, MatrixError, "a standards matrix")
        top = self.mapping(root, "", TOP)
        if top is None:
            raise MatrixError(self.problems)
        parsed = _Parsed()
        name = self.text(top.get("name"), "name")
        version = self.version(top.get("version"))
        description = self.text(top.get("description"), "description")
        self.read_dimensions(top.get("dimensions"), parsed)
        self.read_scenarios(top.get("scenarios"), parsed)
        self.read_disciplines(top.get("disciplines"), parsed)
        if "cells" in top:
            self.read_cells(top["cells"], parsed)
        self.check_cells_have_weight(parsed)
        if self.problems:
            self.problems.sort(key=lambda p: p.line or 0)
            raise MatrixError(self.problems)
        return StandardsMatrix(
            name=name,
            version=version,
            description=description,
            dimensions=tuple(parsed.dimensions),
            scenarios=tuple(parsed.scenarios),
            disciplines=tuple(parsed.disciplines),
            cells=tuple(parsed.cells),
            source=self.source,
        )

    # ---- matrix-specific node readers -------------------------------------------------------
    def version(self, node: Node | None) -> str:
        if node is None:
            return ""
        if (
            isinstance(node, ScalarNode)
            and node.tag.rsplit(":", 1)[-1] in ("str", "int", "float")
            and node.value.strip()
        ):
            return node.value.strip()  # the text as written: "1.10" stays "1.10"
        self.problem(node, "version", f"expected a version string such as '1.0', got {node_kind(node)}")
        return ""

    def weight(self, node: Node, path: str) -> float | None:
        value = self.scalar(node, path, ("int", "float"), "a number")
        if value is MISSING:
            return None
        if not math.isfinite(value):
            self.problem(node, path, f"weight must be a finite number, got {node.value}")
            return None
        if value < 0:
            self.problem(node, path, f"weight must not be negative, got {node.value}")
            return None
        return float(value)

    def dimension_ref(self, node: Node, path: str) -> bool:
        key = node.value
        if key in self.dimension_ids:
            return True
        self.problem(node, path, f"unknown dimension '{key}'" + suggest(key, self.dimension_ids))
        return False

    def weights(self, node: Node | None, path: str) -> dict[str, float] | None:
        """A ``dimension id -> non-negative number`` mapping; None if absent or broken."""
        entries = self.entries(node, path)
        if entries is None:
            return None
        if not entries:
            self.problem(node, path, "must give at least one dimension weight")
            return None
        out: dict[str, float] = {}
        ok = True
        for key, entry in entries.items():
            ok &= self.dimension_ref(entry.key, join(path, key))
            value = self.weight(entry.value, join(path, key))
            if value is None:
                ok = False
            else:
                out[key] = value
        return out if ok else None

    def criteria(self, node: Node | None, path: str) -> tuple[Criterion, ...] | None:
        items = self.sequence(node, path, what="criteria", one="criterion")
        if items is None:
            return None
        out: list[Criterion] = []
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            m = self.mapping(item, where, CRITERION)
            if m is None:
                continue
            text = self.text(m.get("text"), f"{where}.text")
            points = self.scalar(m.get("points"), f"{where}.points", ("int",), "a whole number of points")
            if points is not MISSING and points == 0:
                self.problem(
                    m["points"], f"{where}.points", "points must not be 0 (positive rewards, negative penalises)"
                )
            kind = self.choice(m.get("kind"), f"{where}.kind", CRITERION_KINDS)
            if text and points is not MISSING and points != 0 and kind:
                out.append(Criterion(text=text, points=points, kind=kind))  # type: ignore[arg-type]
        return tuple(out) if len(out) == len(items) else None

    # ---- sections ---------------------------------------------------------------------------
    def read_dimensions(self, node: Node | None, parsed: _Parsed) -> None:
        items = self.items_with_ids(node, "dimensions", DIMENSION)
        self.dimension_ids = [ident for ident, *_ in items]
        for ident, path, m, _ in items:
            name = self.text(m.get("name"), f"{path}.name")
            description = self.text(m.get("description"), f"{path}.description")
            operator = self.choice(m.get("template_operator"), f"{path}.template_operator", TEMPLATE_OPERATORS)
            levels_map = self.mapping(m.get("levels"), f"{path}.levels", LEVEL)
            levels = {}
            if levels_map is not None:
                levels = {k: self.text(v, f"{path}.levels.{k}") for k, v in levels_map.items()}
            criteria = self.criteria(m.get("criteria"), f"{path}.criteria")
            if criteria and not any(c.points > 0 for c in criteria):
                self.problem(
                    m["criteria"],
                    f"{path}.criteria",
                    "needs at least one criterion with positive points (a rubric score divides by them)",
                )
            if operator and criteria and all(levels.get(k) for k in LEVELS):
                parsed.dimensions.append(Dimension(ident, name, description, criteria, levels, operator))

    def read_scenarios(self, node: Node | None, parsed: _Parsed) -> None:
        items = self.items_with_ids(node, "scenarios", SCENARIO)
        self.scenario_ids = [ident for ident, *_ in items]
        for ident, path, m, _ in items:
            name = self.text(m.get("name"), f"{path}.name")
            description = self.text(m.get("description"), f"{path}.description")
            weights = self.weights(m.get("weights"), f"{path}.weights")
            if weights is None:
                continue
            parsed.scenario_lines[ident] = (self.line(m["weights"]), f"{path}.weights")
            if not any(w > 0 for w in weights.values()):
                self.problem(
                    m["weights"],
                    f"{path}.weights",
                    "all weights are zero; at least one dimension must weigh more than 0",
                )
                parsed.zero_scenarios.add(ident)
            parsed.scenarios.append(Scenario(ident, name, description, weights))

    def read_disciplines(self, node: Node | None, parsed: _Parsed) -> None:
        items = self.items_with_ids(node, "disciplines", DISCIPLINE)
        self.discipline_ids = [ident for ident, *_ in items]
        for ident, path, m, _ in items:
            name = self.text(m.get("name"), f"{path}.name")
            description = self.text(m.get("description"), f"{path}.description")
            scale: dict[str, float] | None = {}
            if "scale" in m:
                scale = self.weights(m["scale"], f"{path}.scale")
                parsed.scale_lines[ident] = (self.line(m["scale"]), f"{path}.scale")
            criteria: dict[str, tuple[Criterion, ...]] | None = {}
            if "criteria" in m:
                criteria = self.discipline_criteria(m["criteria"], f"{path}.criteria")
            if scale is not None and criteria is not None:
                parsed.disciplines.append(Discipline(ident, name, description, scale, criteria))

    def discipline_criteria(self, node: Node, path: str) -> dict[str, tuple[Criterion, ...]] | None:
        entries = self.entries(node, path)
        if entries is None:
            return None
        out: dict[str, tuple[Criterion, ...]] = {}
        ok = True
        for key, entry in entries.items():
            ok &= self.dimension_ref(entry.key, join(path, key))
            items = self.criteria(entry.value, join(path, key))
            if items is None:
                ok = False
            else:
                out[key] = items
        return out if ok else None

    def read_cells(self, node: Node, parsed: _Parsed) -> None:
        if not isinstance(node, SequenceNode):
            self.problem(node, "cells", f"expected a list of cells, got {node_kind(node)}")
            return
        for i, item in enumerate(node.value):
            where = f"cells[{i}]"
            m = self.mapping(item, where, CELL)
            if m is None:
                continue
            scenario = self.reference(m.get("scenario"), f"{where}.scenario", self.scenario_ids, "scenario")
            discipline = self.reference(m.get("discipline"), f"{where}.discipline", self.discipline_ids, "discipline")
            applicable = True
            if "applicable" in m:
                value = self.scalar(m["applicable"], f"{where}.applicable", ("bool",), "true or false")
                applicable = True if value is MISSING else bool(value)
            weights = None
            if "weights" in m:
                weights = self.weights(m["weights"], f"{where}.weights")
                if not applicable:
                    self.problem(
                        m["weights"],
                        f"{where}.weights",
                        "weights given for a cell marked 'applicable: false'; remove one of them",
                    )
            reason = self.text(m["reason"], f"{where}.reason") if "reason" in m else None
            if not applicable and "reason" not in m:
                self.problem(item, where, "a cell marked 'applicable: false' needs a 'reason' for reviewers")
            if scenario is None or discipline is None:
                continue
            pair = (scenario, discipline)
            line = item.start_mark.line + 1
            if pair in parsed.cell_lines:
                first = parsed.cell_lines[pair][0]
                self.problem(item, where, f"duplicate cell ({scenario}, {discipline}) (first given at line {first})")
                continue
            parsed.cell_lines[pair] = (line, where)
            parsed.cells.append(Cell(scenario, discipline, applicable, weights, reason or None))

    def check_cells_have_weight(self, parsed: _Parsed) -> None:
        """Every applicable cell must keep some positive weight after scaling and overrides."""
        cells = {(c.scenario, c.discipline): c for c in parsed.cells}
        any_applicable = False
        for scenario in parsed.scenarios:
            for discipline in parsed.disciplines:
                cell = cells.get((scenario.id, discipline.id))
                if cell is not None and not cell.applicable:
                    continue
                any_applicable = True
                raw = {d: scenario.weights.get(d, 0.0) * discipline.scale.get(d, 1.0) for d in self.dimension_ids}
                if cell is not None and cell.weights:
                    raw.update(cell.weights)
                if sum(raw.values()) > 0 or (scenario.id in parsed.zero_scenarios and cell is None):
                    continue
                if cell is not None and cell.weights:
                    line, path = parsed.cell_lines[(scenario.id, discipline.id)]
                    where = f"{path}.weights"
                else:
                    line, where = parsed.scale_lines.get(discipline.id, parsed.scenario_lines[scenario.id])
                self.problems.append(
                    Problem(
                        self.source,
                        line,
                        where,
                        f"cell ({scenario.id}, {discipline.id}) has all-zero weights after scaling; "
                        "give it a cell override with a positive weight or mark it 'applicable: false'",
                    )
                )
        if parsed.scenarios and parsed.disciplines and not any_applicable:
            self.problems.append(Problem(self.source, None, "cells", "every cell is marked 'applicable: false'"))
