"""Training reports: one JSON file with every number, one HTML page with inline SVG charts.

Plain SVG strings (no plotting library): a grouped bar chart of per-dimension metrics (one group per
dimension, one bar per run, so a GPRC run and its ablation sit side by side) and line charts of the
loss terms over training steps. The page is self-contained: it opens offline and can be attached to
an issue or a paper draft as is.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, atomic_write_text

PALETTE = ("#1f6fb2", "#e07b22", "#3a9a48", "#b23a48", "#7a4fb2", "#8c6d31", "#2a9d9d", "#c04ea0", "#555555")
CHAR_WIDTH = 6.5  # px per character of 11 px legend text (enough for system-ui sans at that size)
LEGEND_ROW = 16

Interval = tuple[float, float]
ESTIMATE_CELL = re.compile(r"^(\S+) (\[\S+, \S+\])$")  # "0.912 [0.871, 0.950]"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _legend_rows(names: Sequence[str], width: float) -> list[list[tuple[int, str, float]]]:
    """Legend entries laid out left to right, a new row when the next would not fit: (index, name, x)."""
    rows: list[list[tuple[int, str, float]]] = [[]]
    x = 0.0
    for i, name in enumerate(names):
        entry = 16 + CHAR_WIDTH * len(name) + 18
        if rows[-1] and x + entry > width:
            rows.append([])
            x = 0.0
        rows[-1].append((i, name, x))
        x += entry
    return rows


def _legend(names: Sequence[str], left: float, top: float, width: float, *, swatch: str = "box") -> str:
    """The legend of ``names`` (colour i = ``PALETTE[i]``), wrapped into rows so no entry overlaps another."""
    parts = []
    for r, row in enumerate(_legend_rows(names, width)):
        y = top + r * LEGEND_ROW
        for i, name, x in row:
            color = PALETTE[i % len(PALETTE)]
            box = (12, 12, y - 10) if swatch == "box" else (12, 3, y - 5)
            parts.append(
                f'<rect x="{left + x:.1f}" y="{box[2]:.1f}" width="{box[0]}" height="{box[1]}" fill="{color}"/>'
            )
            parts.append(f'<text x="{left + x + 16:.1f}" y="{y:.1f}" font-size="11">{html.escape(name)}</text>')
    return "".join(parts)


def _legend_height(names: Sequence[str], width: float) -> int:
    return LEGEND_ROW * len(_legend_rows(names, width)) if names else 0


def bar_chart(
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    intervals: dict[str, Sequence[Interval]] | None = None,
    y_max: float = 1.0,
    reference: float | None = None,
    width: int = 900,
    height: int = 320,
) -> str:
    """Grouped bars: ``series[name][i]`` is the bar of ``name`` in group ``groups[i]`` (NaN = no bar).

    ``intervals[name][i]`` = (low, high) draws an error bar on that bar; ``reference`` a dashed line
    at that value (e.g. chance, 0.5).
    """
    left, right, top = 48, 16, 30
    legend_top = height - 10 - _legend_height(list(series), width - left - right) + LEGEND_ROW
    bottom = height - legend_top + LEGEND_ROW + 36  # room for two-line group labels
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = linear_ticks(0.0, y_max)
    y_max = ticks[-1] if ticks[-1] >= y_max else ticks[-1] + (ticks[1] - ticks[0])  # the axis ends on a tick
    n_series = max(1, len(series))
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / n_series

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(value, y_max)) / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
    ]
    for value in linear_ticks(0.0, y_max):
        y = y_of(value)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{tick_label(value)}</text>'
        )
    for g, group in enumerate(groups):
        for s, (name, values) in enumerate(series.items()):
            value = values[g]
            if not _finite(value):
                continue
            x = left + g * group_w + group_w * 0.1 + s * bar_w
            label = f"{html.escape(name)} / {html.escape(group)}: {value:.3f}"
            interval = (intervals or {}).get(name, [None] * len(groups))[g]
            if interval is not None and _finite(interval[0]) and _finite(interval[1]):
                label += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
            parts.append(
                f'<rect x="{x:.1f}" y="{y_of(value):.1f}" width="{bar_w:.1f}" height="{top + plot_h - y_of(value):.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{label}</title></rect>'
            )
            if interval is not None and _finite(interval[0]) and _finite(interval[1]):
                cx = x + bar_w / 2
                lo, hi = y_of(interval[0]), y_of(interval[1])
                parts.append(
                    f'<path d="M{cx:.1f},{lo:.1f}V{hi:.1f}M{cx - 3:.1f},{lo:.1f}h6M{cx - 3:.1f},{hi:.1f}h6" '
                    'stroke="#222" stroke-width="1" fill="none"/>'
                )
        cx = left + g * group_w + group_w / 2
        parts.append(_group_label(group, cx, top + plot_h + 14, group_w))
    if reference is not None:
        y = y_of(reference)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#222" stroke-dasharray="4 3"/>'
        )
    parts.append(_legend(list(series), left, legend_top, plot_w))
    parts.append("</svg>")
    return "".join(parts)


def _group_label(text: str, cx: float, y: float, room: float) -> str:
    """A group's label under its bars, broken at underscores into two lines when one would not fit."""
    lines = [text]
    if len(text) * 6.0 > room * 0.95 and "_" in text:
        cut = min(range(len(text)), key=lambda i: abs(i - len(text) / 2) if text[i] == "_" else len(text))
        lines = [text[: cut + 1], text[cut + 1 :]]
    spans = "".join(
        f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else 12}">{html.escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text x="{cx:.1f}" y="{y}" text-anchor="middle" font-size="10">{spans}</text>'


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis from ``lo`` to ``hi`` (both > 0): 1-2-5 steps of each decade, or only
    the powers of ten where the range spans more than three decades."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1.0,) if last - first > 3 else (1.0, 2.0, 5.0)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    return inside if len(inside) >= 2 else [lo, hi]


def linear_ticks(lo: float, hi: float) -> list[float]:
    """About five round tick values (steps of 1, 2 or 5 times a power of ten) from ``lo`` to ``hi``."""
    raw = (hi - lo) / 4
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= 0.8 * raw)
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 12) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def tick_label(value: float) -> str:
    """A tick value as a reader writes it: 2, 1, 0.3, 0.05, 1e-05 (never "1e0.3")."""
    return f"{value:.2g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.0e}"


def line_chart(
    title: str,
    steps: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    bands: dict[str, Sequence[Interval]] | None = None,
    x_label: str = "step",
    x_ticks: Sequence[float] | None = None,
    log_x: bool = False,
    y_range: Interval | None = None,
    width: int = 900,
    height: int = 300,
    log_y: bool = False,
) -> str:
    """Lines over ``steps``; ``log_y``/``log_x`` plot on a log scale (terms span orders of magnitude)
    with ticks labelled in plain numbers. ``bands[name]`` = (low, high) per step shades an interval
    around the line; ``x_ticks`` labels those x values (default: the first and last step); ``y_range``
    fixes the y axis (e.g. a metric's whole scale) instead of fitting it to the data."""
    left, right, top = 56, 16, 30
    legend_top = height - 10 - _legend_height(list(series), width - left - right) + LEGEND_ROW
    bottom = height - legend_top + LEGEND_ROW + 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def ty(v: float) -> float:
        return math.log10(max(v, 1e-6)) if log_y else v

    def tx(v: float) -> float:
        return math.log10(max(v, 1e-12)) if log_x else v

    raw = [v for vs in series.values() for v in vs if _finite(v)]
    raw += [v for bs in (bands or {}).values() for b in bs for v in b if _finite(v)]
    if not steps or not raw:
        return f"<p>{html.escape(title)}: no data</p>"
    values = [ty(v) for v in raw]
    lo, hi = (ty(y_range[0]), ty(y_range[1])) if y_range else (min(values), max(values))
    hi = hi if hi > lo else lo + 1.0
    x0, x1 = tx(min(steps)), tx(max(steps))
    x1 = x1 if x1 > x0 else x0 + 1.0

    def xy(step: float, v: float) -> tuple[float, float]:
        return (left + plot_w * (tx(step) - x0) / (x1 - x0), top + plot_h - plot_h * (ty(v) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>',
    ]
    ticks = log_ticks(10**lo, 10**hi) if log_y else linear_ticks(lo, hi)
    for value in ticks:
        y = top + plot_h - plot_h * (ty(value) - lo) / (hi - lo)
        label = tick_label(value)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{label}</text>')
    for value in x_ticks if x_ticks is not None else (min(steps), max(steps)):
        x = xy(value, 10**lo if log_y else lo)[0]
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="10">{value:g}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 28}" text-anchor="middle" font-size="11">'
        f"{html.escape(x_label)}</text>"
    )
    for s, name in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        band = (bands or {}).get(name)
        if band is not None:
            upper = [xy(step, b[1]) for step, b in zip(steps, band) if _finite(b[0]) and _finite(b[1])]
            lower = [xy(step, b[0]) for step, b in zip(steps, band) if _finite(b[0]) and _finite(b[1])]
            if upper:
                outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*upper, *reversed(lower)])
                parts.append(f'<polygon points="{outline}" fill="{color}" fill-opacity="0.15" stroke="none"/>')
        points = [xy(step, v) for step, v in zip(steps, series[name]) if _finite(v)]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
    parts.append(_legend(list(series), left, legend_top, plot_w, swatch="line"))
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


def figure(content: str, command: str) -> str:
    """``content`` (a chart or table) with the command line(s) that reproduce it underneath, one per line."""
    lines = "<br>".join(f"<code>{html.escape(line)}</code>" for line in command.splitlines())
    return f'{content}<p class="cmd">reproduce:<br>{lines}</p>'


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, stacked: bool = False) -> str:
    """An HTML table; ``stacked`` puts the interval of a ``value [low, high]`` cell on a second, smaller
    line, so that tables with many estimate columns stay within the page."""

    def cell(value: Any) -> str:
        text = _fmt(value)
        match = ESTIMATE_CELL.match(text) if stacked else None
        return f"{match[1]}<br><small>{match[2]}</small>" if match else text

    # Headers may break after an underscore (prefer_more_markdown) so wide tables fit the page.
    head = "".join(f"<th>{html.escape(h).replace('_', '_<wbr>')}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
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
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right;white-space:nowrap}th{background:#f3f3f3;white-space:normal}td:first-child{text-align:left}"
        "small{color:#555}"
        "pre{background:#f6f6f6;padding:8px}p.cmd{font-size:12px;color:#444;margin:0 0 1.5em}"
        "p.cmd code{display:block;background:#f3f3f3;padding:4px 6px;margin:2px 0;line-height:1.5;overflow-wrap:anywhere}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
    atomic_write_text(out / "report.html", page)
    return out / "report.json", out / "report.html"
