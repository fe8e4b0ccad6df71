"""A :class:`~mrrml.eval.quality.report.QualityReport` as plain tables for people: the command's
console output and the demo report's HTML both print these, so both show the same numbers the same
way. Each cell is text; an estimate reads ``0.912 [0.871, 0.950]`` (value and 95 % interval)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from .bootstrap import Estimate
from .report import QualityReport
from .robustness import ANY, AS_WRITTEN, POOLED

SET_TITLES = {"held_out_prompts": "held-out prompts", "held_out_conditions": "held-out conditions"}


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


def fmt(estimate: Estimate, digits: int = 3) -> str:
    """``value [low, high]``, or ``n/a`` without data."""
    if estimate.value != estimate.value:  # NaN
        return "n/a"
    return f"{estimate.value:.{digits}f} [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}]"


def accuracy_table(report: QualityReport, view: str = "head") -> Table:
    """Triplet-order and pairwise accuracy per dimension, every test set side by side."""
    sets = list(report.test_sets)
    columns = ["dimension"]
    for name in sets:
        columns += [f"triplet-order, {SET_TITLES.get(name, name)}", f"pairwise, {SET_TITLES.get(name, name)}"]
    rows = []
    for dim in [*report.dimensions, "all"]:
        cells = []
        for name in sets:
            acc = report.test_sets[name].views[view].accuracy.get(dim)
            cells += [fmt(acc.order), fmt(acc.pairwise)] if acc else ["n/a", "n/a"]
        rows.append([dim, *cells])
    return Table(f"Accuracy per dimension ({view} scores)", columns, rows)


def robustness_table(report: QualityReport, test_set: str, view: str = "head", dimension: str = "all") -> Table:
    """Per variant kind: how often it makes the worse answer win, and how far it moves scores."""
    rob = report.test_sets[test_set].views[view].robustness[dimension]
    rows = []
    for kind in (AS_WRITTEN, *report.settings.variants, POOLED, ANY):
        outrank = rob.outrank[kind]
        moved = [fmt(rob.sensitivity[kind]), fmt(rob.shift[kind])] if kind in rob.sensitivity else ["", ""]
        rows.append([kind, fmt(outrank), f"{outrank.count:.0f}", *moved])
    title = f"Spurious-feature robustness, {SET_TITLES.get(test_set, test_set)}, {dimension} ({view} scores)"
    columns = ["variant of the worse answer", "outranks the better answer", "pairs", "|Δ| / gap", "Δ / gap"]
    return Table(title, columns, rows)


def best_of_n_table(report: QualityReport, test_set: str, view: str = "reward", dimension: str = "all") -> Table:
    """True quality (0..2) of the best-of-N pick by the model, the oracle and a random pick."""
    curve = report.test_sets[test_set].views[view].best_of_n[dimension]
    rows = [[str(n), fmt(m), fmt(o), fmt(r)] for n, m, o, r in zip(curve.n, curve.model, curve.oracle, curve.random)]
    title = f"Best-of-N true quality, {SET_TITLES.get(test_set, test_set)}, {dimension} ({view} scores)"
    return Table(title, ["N", "model", "oracle", "random"], rows)


def physician_table(report: QualityReport, by: str = "overall") -> Table:
    """Physician preference per judge: ``by`` = ``overall``, ``theme`` or ``group`` (one row per slice)."""
    if report.physician is None:
        raise ConfigError(
            "physician_table: the report has no physician preference (evaluated without healthbench rows)"
        )
    judges = report.physician.judges
    names = list(judges)
    if by == "overall":
        rows = [[name, fmt(t.overall.accuracy), f"{t.overall.accuracy.count:.0f}"] for name, t in judges.items()]
        return Table("Physician preference (ideal over reference completion)", ["judge", "accuracy", "pairs"], rows)
    slices = {name: getattr(table, f"by_{by}") for name, table in judges.items()}
    keys = list(slices[names[0]])
    rows = [
        [key, f"{slices[names[0]][key].accuracy.count:.0f}", *(fmt(slices[n][key].accuracy) for n in names)]
        for key in keys
    ]
    return Table(f"Physician preference by {by}", [by, "pairs", *names], rows)


def summary_tables(report: QualityReport, view: str = "head") -> list[Table]:
    """Every table of the report: accuracy, then robustness and best-of-N per test set, then physicians."""
    tables = [accuracy_table(report, view)] if report.test_sets else []
    for name in report.test_sets:
        tables += [robustness_table(report, name, view), best_of_n_table(report, name, view)]
    if report.physician is not None:
        tables += [physician_table(report, by) for by in ("overall", "theme", "group")]
    return tables
