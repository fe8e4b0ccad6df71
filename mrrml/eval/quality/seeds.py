"""Several runs of one recipe (seeds) summarised as mean ± std, for comparing recipes (GPRC vs
rank-only): a report's headline numbers flattened to named scalars, then aggregated across reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from .report import QualityReport


def headline_metrics(report: QualityReport) -> dict[str, float]:
    """Point estimates as ``{name: value}``; names read ``set/view/metric/dimension[/kind or N]``, e.g.
    ``held_out_conditions/head/order_acc/accuracy``, ``held_out_prompts/reward/outrank/all/filler``,
    ``held_out_prompts/reward/best_of_n/all/16``, and ``physician/<judge>`` for physician preference."""
    out: dict[str, float] = {}
    for set_name, test_set in report.test_sets.items():
        for view_name, view in test_set.views.items():
            prefix = f"{set_name}/{view_name}"
            for dim, acc in view.accuracy.items():
                out[f"{prefix}/order_acc/{dim}"] = acc.order.value
                out[f"{prefix}/pairwise_acc/{dim}"] = acc.pairwise.value
            for dim, rob in view.robustness.items():
                for kind, e in rob.outrank.items():
                    out[f"{prefix}/outrank/{dim}/{kind}"] = e.value
                for kind, e in rob.sensitivity.items():
                    out[f"{prefix}/sensitivity/{dim}/{kind}"] = e.value
            for dim, curve in view.best_of_n.items():
                for n, e in zip(curve.n, curve.model):
                    out[f"{prefix}/best_of_n/{dim}/{n}"] = e.value
    if report.physician is not None:
        for judge, table in report.physician.judges.items():
            out[f"physician/{judge}"] = table.overall.accuracy.value
    return out


@dataclass(frozen=True)
class AcrossSeeds:
    """One metric over runs: mean and sample standard deviation (NaN runs left out), and every value."""

    mean: float
    std: float
    values: tuple[float, ...]


def across_seeds(reports: Sequence[QualityReport]) -> dict[str, AcrossSeeds]:
    """Mean ± std of every headline metric over ``reports`` (runs of one recipe); metrics must match."""
    if not reports:
        raise ConfigError("across_seeds: no reports")
    flat = [headline_metrics(r) for r in reports]
    names = list(flat[0])
    for i, metrics in enumerate(flat[1:], start=1):
        if list(metrics) != names:
            raise ConfigError(f"across_seeds: report {i} has other metrics than report 0 (different data or settings)")
    out: dict[str, AcrossSeeds] = {}
    for name in names:
        values = tuple(m[name] for m in flat)
        finite = np.array([v for v in values if not math.isnan(v)])
        mean = float(finite.mean()) if len(finite) else math.nan
        std = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
        out[name] = AcrossSeeds(mean, std, values)
    return out
