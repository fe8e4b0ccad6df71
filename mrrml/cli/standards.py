"""``mrrml standards``: validate, show, scaffold and describe standards matrices.

These are the authoring tools of docs/design.md §1. They import only the standards layer (YAML and
rich, never torch) so a clinician's edit-validate loop takes a fraction of a second.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import ConfigError, MatrixError, MrrmlError
from ..io import atomic_write_text
from ..resources import matrix_file
from ..standards.loader import load_matrix
from ..standards.matrix import StandardsMatrix
from ..standards.scaffold import scaffold
from ..standards.schema import json_schema
from ._parsing import Command, Renamed, run_group


def _console() -> Console:
    return Console(width=max(100, shutil.get_terminal_size((120, 24)).columns), highlight=False)


def validate(files: list[str]) -> int:
    """Validate matrix files; report every problem with file:line (exit 1 if any file fails).

    Args:
        files: matrix YAML files, or names of shipped matrices (healthbench, mr-rml).
    """
    console = _console()
    failed = 0
    for spec in files:
        try:
            path = matrix_file(spec)
            matrix = load_matrix(path)
        except MatrixError as error:
            failed += 1
            console.print(f"FAILED {spec}: {len(error.problems)} problem(s)", markup=False)
            for problem in error.problems:
                console.print(f"  {problem}", markup=False)
            continue
        except MrrmlError as error:  # no such file or shipped name
            failed += 1
            console.print(f"FAILED {spec}: {error}", markup=False)
            continue
        console.print(f"OK {spec}: {summary(matrix)}", markup=False)
    return 1 if failed else 0


def show(file: str, scenario: str | None = None, discipline: str | None = None) -> int:
    """Print a matrix as tables, or one cell's normalised weights.

    -s and -c are short for --scenario and --discipline.

    Args:
        file: matrix YAML file, or the name of a shipped matrix (healthbench, mr-rml).
        scenario: scenario id: restrict the weights to this scenario.
        discipline: discipline id: restrict the weights to this discipline.
    """
    _show(load_matrix(matrix_file(file)), scenario, discipline, _console())
    return 0


def new(name: str, out: str | None = None, force: bool = False) -> int:
    """Write a commented scaffold matrix that validates as written.

    Args:
        name: the matrix's name.
        out: file to write (default: print to stdout).
        force: overwrite --out if it exists.
    """
    return _write(scaffold(name), out, force)


def schema(out: str | None = None) -> int:
    """Print or write the JSON Schema of matrix files (for editors).

    Args:
        out: file to write (default: print to stdout).
    """
    return _write(json.dumps(json_schema(), indent=2) + "\n", out, True)


COMMANDS = {
    "validate": Command(validate, variadic="files"),
    # -s/-c were the argparse short options of show; -c stays the discipline there, not --config.
    "show": Command(
        show,
        {"-s": Renamed(("--scenario",), announce=False), "-c": Renamed(("--discipline",), announce=False)},
        short_config=False,
    ),
    "new": Command(new),
    "schema": Command(schema),
}


def run(argv: list[str]) -> int:
    return run_group("mrrml standards", "Author and check standards matrices.", COMMANDS, argv)


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


def _write(text: str, out: str | None, force: bool) -> int:
    if out is None:
        sys.stdout.write(text)
        return 0
    path = Path(out)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    atomic_write_text(path, text)
    _console().print(f"wrote {path}", markup=False)
    return 0
