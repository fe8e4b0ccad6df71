"""``mrrml standards``: validate, show, scaffold and describe standards matrices.

These are the authoring tools of docs/design.md §1. They import only the standards layer (YAML and
rich, never torch) so a clinician's edit-validate loop takes a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import ConfigError, MatrixError
from ..io import atomic_write_text
from ..standards.loader import load_matrix
from ..standards.matrix import StandardsMatrix
from ..standards.scaffold import scaffold
from ..standards.schema import json_schema


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrrml standards", description="Author and check standards matrices.")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("validate", help="validate matrix files; report every problem with file:line")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p = sub.add_parser("show", help="print a matrix as tables, or one cell's normalised weights")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-s", "--scenario", help="scenario id: restrict weights to this scenario")
    p.add_argument("-c", "--discipline", help="discipline id: restrict weights to this discipline")
    p = sub.add_parser("new", help="write a commented scaffold matrix that validates as written")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", type=Path, help="file to write (default: print to stdout)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p = sub.add_parser("schema", help="print or write the JSON Schema of matrix files (for editors)")
    p.add_argument("--out", type=Path, help="file to write (default: print to stdout)")
    return parser


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    console = Console(width=max(100, shutil.get_terminal_size((120, 24)).columns), highlight=False)
    if args.action == "validate":
        return _validate(args.files, console)
    if args.action == "show":
        _show(load_matrix(args.file), args.scenario, args.discipline, console)
        return 0
    if args.action == "new":
        return _write(scaffold(args.name), args.out, args.force, console)
    return _write(json.dumps(json_schema(), indent=2) + "\n", args.out, True, console)


def _validate(files: list[Path], console: Console) -> int:
    failed = 0
    for path in files:
        try:
            matrix = load_matrix(path)
        except MatrixError as error:
            failed += 1
            console.print(f"FAILED {path}: {len(error.problems)} problem(s)", markup=False)
            for problem in error.problems:
                console.print(f"  {problem}", markup=False)
            continue
        console.print(f"OK {path}: {summary(matrix)}", markup=False)
    return 1 if failed else 0


def summary(matrix: StandardsMatrix) -> str:
    """One line: the matrix's name, version and the size of each axis."""
    cells = len(matrix.scenarios) * len(matrix.disciplines)
    criteria = sum(len(d.criteria) for d in matrix.dimensions) + sum(
        len(items) for c in matrix.disciplines for items in c.criteria.values()
    )
    return (
        f"{matrix.name} v{matrix.version}: {len(matrix.dimensions)} dimensions, {len(matrix.scenarios)} scenarios, "
        f"{len(matrix.disciplines)} disciplines, {len(matrix.applicable_cells())}/{cells} applicable cells, "
        f"{criteria} criteria"
    )


def _show(matrix: StandardsMatrix, scenario: str | None, discipline: str | None, console: Console) -> None:
    dims = matrix.dimension_ids
    if scenario is not None and discipline is not None:
        _show_cell(matrix, scenario, discipline, console)
        return
    console.print(summary(matrix), markup=False)
    if scenario is None and discipline is None:
        _show_axes(matrix, console)
    pairs = [
        (s, c)
        for s, c in matrix.applicable_cells()
        if (scenario is None or s == scenario) and (discipline is None or c == discipline)
    ]
    if scenario is not None:
        matrix.scenario(scenario)
    if discipline is not None:
        matrix.discipline(discipline)
    table = Table(title="Normalised cell weights (each row sums to 1)")
    table.add_column("scenario", no_wrap=True)
    table.add_column("discipline", no_wrap=True)
    for d in dims:
        table.add_column(d, justify="right", overflow="fold")
    for s, c in pairs:
        weights = matrix.cell_weights(s, c)
        table.add_row(s, c, *(f"{weights[d]:.3f}" for d in dims))
    if pairs:
        mean = matrix.weight_vector(scenario, discipline)
        table.add_section()
        table.add_row("mean", f"{len(pairs)} cells", *(f"{w:.3f}" for w in mean))
    console.print(table)
    excluded = [c for c in matrix.cells if not c.applicable]
    if excluded and scenario is None and discipline is None:
        table = Table(title="Cells marked not applicable")
        for col in ("scenario", "discipline", "reason"):
            table.add_column(col)
        for cell in excluded:
            table.add_row(cell.scenario, cell.discipline, cell.reason or "")
        console.print(table)


def _show_axes(matrix: StandardsMatrix, console: Console) -> None:
    table = Table(title=f"Dimensions of {matrix.name}")
    for col in ("id", "name", "operator", "criteria", "+points", "-points", "hard rules"):
        table.add_column(col)
    for d in matrix.dimensions:
        pos = sum(c.points for c in d.criteria if c.points > 0)
        neg = sum(c.points for c in d.criteria if c.points < 0)
        hard = sum(c.kind == "hard_rule" for c in d.criteria)
        table.add_row(d.id, d.name, d.template_operator, str(len(d.criteria)), str(pos), str(neg), str(hard))
    console.print(table)

    dims = matrix.dimension_ids
    table = Table(title="Scenario weights (as written; unlisted = 0)")
    table.add_column("scenario", no_wrap=True)
    for d in dims:
        table.add_column(d, justify="right", overflow="fold")
    for s in matrix.scenarios:
        table.add_row(s.id, *(f"{s.weights[d]:g}" if d in s.weights else "-" for d in dims))
    console.print(table)

    table = Table(title="Discipline scale (unlisted = 1) and extra criteria")
    table.add_column("discipline", no_wrap=True)
    for d in dims:
        table.add_column(d, justify="right", overflow="fold")
    table.add_column("extra criteria", justify="right", overflow="fold")
    for c in matrix.disciplines:
        extra = sum(len(items) for items in c.criteria.values())
        table.add_row(c.id, *(f"{c.scale[d]:g}" if d in c.scale else "" for d in dims), str(extra))
    console.print(table)


def _show_cell(matrix: StandardsMatrix, scenario: str, discipline: str, console: Console) -> None:
    cell = matrix.cell(scenario, discipline)
    if not matrix.is_applicable(scenario, discipline):
        reason = cell.reason if cell is not None else ""
        raise ConfigError(f"cell ({scenario}, {discipline}) is marked not applicable: {reason}")
    raw = matrix.raw_cell_weights(scenario, discipline)
    weights = matrix.cell_weights(scenario, discipline)
    scen, disc = matrix.scenario(scenario), matrix.discipline(discipline)
    overrides = (cell.weights or {}) if cell is not None else {}
    table = Table(title=f"Cell ({scenario}, {discipline}) of {matrix.name}")
    for col in ("dimension", "scenario weight", "scale", "override", "weight", "criteria"):
        table.add_column(col, justify="left" if col == "dimension" else "right")
    for d in matrix.dimension_ids:
        table.add_row(
            d,
            f"{scen.weights.get(d, 0.0):g}",
            f"{disc.scale.get(d, 1.0):g}",
            f"{overrides[d]:g}" if d in overrides else "",
            f"{weights[d]:.3f}",
            str(len(matrix.criteria_for(d, discipline))),
        )
    table.add_section()
    table.add_row("total", "", "", "", f"{sum(weights.values()):.3f}", f"(raw sum {sum(raw.values()):g})")
    console.print(table)
    if cell is not None and cell.reason:
        console.print(f"reason: {cell.reason}", markup=False)


def _write(text: str, out: Path | None, force: bool, console: Console) -> int:
    if out is None:
        sys.stdout.write(text)
        return 0
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    atomic_write_text(out, text)
    console.print(f"wrote {out}", markup=False)
    return 0
