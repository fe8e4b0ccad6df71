"""The run report: ``metrics.json`` (every metric plus what produced it) and a static HTML page.

The page draws per-axis and per-theme bars with ±1 bootstrap-std error bars as inline SVG (no
plotting dependency, opens anywhere) and lists the model, grader, grader template, sampler
settings and data file hashes — the facts needed to compare or reproduce a number.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...io import atomic_write_json, atomic_write_text
from .scoring import OVERALL

BAR_H, GAP, LABEL_W, PLOT_W = 22, 8, 230, 420


def metric_groups(metrics: Mapping[str, float]) -> dict[str, list[tuple[str, float, float, int]]]:
    """``{prefix: [(name, mean, bootstrap_std, n), ...]}`` for the axis/theme/category/level prefixes."""
    groups: dict[str, list[tuple[str, float, float, int]]] = {}
    for key, value in metrics.items():
        if ":" not in key or key.endswith((":bootstrap_std", ":n_samples")) or key == OVERALL:
            continue
        prefix, name = key.split(":", 1)
        groups.setdefault(prefix, []).append(
            (
                name,
                float(value),
                float(metrics.get(f"{key}:bootstrap_std", 0.0)),
                int(metrics.get(f"{key}:n_samples", 0)),
            )
        )
    return {k: sorted(v) for k, v in sorted(groups.items())}


def bar_chart_svg(rows: list[tuple[str, float, float, int]], title: str) -> str:
    """Horizontal bars on a 0..1 axis with error bars of ±std (clamped to the plot)."""
    height = len(rows) * (BAR_H + GAP) + 40
    width = LABEL_W + PLOT_W + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="12">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = LABEL_W + tick * PLOT_W
        parts.append(
            f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{height - 22}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#555">{tick:g}</text>'
        )
    for i, (name, mean, std, n) in enumerate(rows):
        y = 12 + i * (BAR_H + GAP)
        w = max(0.0, min(1.0, mean)) * PLOT_W
        lo = LABEL_W + max(0.0, mean - std) * PLOT_W
        hi = LABEL_W + min(1.0, mean + std) * PLOT_W
        mid = y + BAR_H / 2
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{mid + 4:.1f}" text-anchor="end">{html.escape(name)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="#4a7fb5"/>'
            f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" stroke="#222" stroke-width="1.5"/>'
            f'<line x1="{lo:.1f}" y1="{y + 5}" x2="{lo:.1f}" y2="{y + BAR_H - 5}" stroke="#222"/>'
            f'<line x1="{hi:.1f}" y1="{y + 5}" x2="{hi:.1f}" y2="{y + BAR_H - 5}" stroke="#222"/>'
            f'<text x="{LABEL_W + PLOT_W + 8}" y="{mid + 4:.1f}">{mean:.3f} ± {std:.3f} (n={n})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(v if isinstance(v, str) else json.dumps(v, sort_keys=True))}</code></td></tr>"
        for k, v in rows
    )
    return f"<table>{cells}</table>"


def render_html(report: Mapping[str, Any]) -> str:
    metrics = report.get("metrics", {})
    groups = metric_groups(metrics)
    title = f"HealthBench — {report.get('run', {}).get('model', 'report')}"
    body = [f"<h1>{html.escape(title)}</h1>"]
    if OVERALL in metrics:
        body.append(
            f"<p class=big>overall_score <b>{metrics[OVERALL]:.4f}</b> ± "
            f"{metrics.get(OVERALL + ':bootstrap_std', 0):.4f} (bootstrap std, "
            f"n={metrics.get(OVERALL + ':n_samples', 0)})</p>"
        )
    for prefix, label in (("axis", "Per axis"), ("theme", "Per theme")):
        if prefix in groups:
            body.append(f"<h2>{label}</h2>{bar_chart_svg(groups[prefix], label)}")
    body.append("<h2>Run</h2>" + _table(sorted(report.get("run", {}).items())))
    body.append("<h2>Counts</h2>" + _table(sorted(report.get("counts", {}).items())))
    for prefix, rows in groups.items():
        if prefix not in ("axis", "theme"):
            body.append(
                f"<h2>{html.escape(prefix)}</h2>"
                + _table([(name, f"{m:.4f} ± {s:.4f} (n={n})") for name, m, s, n in rows])
            )
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
        "th{background:#f4f4f4}.big{font-size:1.3em}code{white-space:pre-wrap}"
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(out_dir: str | os.PathLike, report: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``report.html`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    json_path, html_path = out / "metrics.json", out / "report.html"
    atomic_write_json(json_path, report)
    atomic_write_text(html_path, render_html(report))
    return json_path, html_path
