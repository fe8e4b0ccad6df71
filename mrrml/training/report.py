"""Training reports: one JSON file with every number, one HTML page with inline SVG charts.

Plain SVG strings (no plotting library): a grouped bar chart of per-dimension metrics (one group per
dimension, one bar per run, so a GPRC run and its ablation sit side by side) and line charts of the
loss terms over training steps. The page is self-contained: it opens offline and can be attached to
an issue or a paper draft as is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, atomic_write_text

PALETTE = ("#1f6fb2", "#e07b22", "#3a9a48", "#b23a48", "#7a4fb2", "#8c6d31")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def bar_chart(
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    y_max: float = 1.0,
    width: int = 720,
    height: int = 300,
) -> str:
    """Grouped bars: ``series[name][i]`` is the bar of ``name`` in group ``groups[i]`` (NaN = no bar)."""
    left, bottom, top, right = 48, 70, 30, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    n_series = max(1, len(series))
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / n_series
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
    ]
    for tick in range(6):
        value = y_max * tick / 5
        y = top + plot_h - plot_h * tick / 5
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{value:.1f}</text>')
    for g, group in enumerate(groups):
        for s, (name, values) in enumerate(series.items()):
            value = values[g]
            if value is None or math.isnan(value):
                continue
            h = plot_h * max(0.0, min(value, y_max)) / y_max
            x = left + g * group_w + group_w * 0.1 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{html.escape(name)} / {html.escape(group)}: '
                f"{value:.3f}</title></rect>"
            )
        cx = left + g * group_w + group_w / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10">'
            f"{html.escape(group)}</text>"
        )
    for s, name in enumerate(series):
        x = left + s * 170
        parts.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 12}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str,
    steps: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    width: int = 720,
    height: int = 280,
    log_y: bool = False,
) -> str:
    """Lines over steps; ``log_y`` plots log10(value) (terms span orders of magnitude)."""
    left, bottom, top, right = 56, 48, 30, 16
    plot_w, plot_h = width - left - right, height - top - bottom

    def transform(v: float) -> float:
        return math.log10(max(v, 1e-6)) if log_y else v

    values = [transform(v) for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    if not steps or not values:
        return f"<p>{html.escape(title)}: no data</p>"
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1.0
    x0, x1 = min(steps), max(steps)
    x1 = x1 if x1 > x0 else x0 + 1.0

    def xy(step: float, v: float) -> tuple[float, float]:
        return (left + plot_w * (step - x0) / (x1 - x0), top + plot_h - plot_h * (transform(v) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>',
    ]
    for tick in range(5):
        v = lo + (hi - lo) * tick / 4
        y = top + plot_h - plot_h * tick / 4
        label = f"1e{v:.1f}" if log_y else f"{v:.2f}"
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{label}</text>')
    parts.append(f'<text x="{left}" y="{top + plot_h + 14}" font-size="10">step {x0:.0f}</text>')
    parts.append(
        f'<text x="{left + plot_w}" y="{top + plot_h + 14}" text-anchor="end" font-size="10">step {x1:.0f}</text>'
    )
    for s, (name, vs) in enumerate(series.items()):
        points = [xy(step, v) for step, v in zip(steps, vs) if v is not None and math.isfinite(v)]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        color = PALETTE[s % len(PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        lx = left + (s % 6) * 110
        parts.append(f'<rect x="{lx}" y="{height - 20}" width="12" height="3" fill="{color}"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 14}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average (training losses are noisy batch to batch)."""
    out, total, buf = [], 0.0, []
    for v in values:
        buf.append(v)
        total += v
        if len(buf) > window:
            total -= buf.pop(0)
        out.append(total / len(buf))
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(out_dir: str | Path, report: dict[str, Any], sections: Sequence[tuple[str, str]]) -> tuple[Path, Path]:
    """``report.json`` (the numbers) and ``report.html`` (``sections``: (heading, HTML) pairs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "report.json", report)
    title = html.escape(str(report.get("title", "mrrml report")))
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
        "pre{background:#f6f6f6;padding:8px}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
    atomic_write_text(out / "report.html", page)
    return out / "report.json", out / "report.html"
