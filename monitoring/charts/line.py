"""Line charts over categorical x positions (days, time bins, model versions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from monitoring.charts.scale import (
    WIDTH,
    Scale,
    color,
    empty_state,
    figure,
    fmt,
    legend,
    shown_labels,
    svg_open,
    text,
    value_scale,
)

LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 30


@dataclass(frozen=True)
class Line:
    """One series; ``marks`` maps point indices to a label drawn above a larger point."""

    name: str
    values: Sequence[float | None]
    color: int = 0
    dashed: bool = False
    marks: dict[int, str] = field(default_factory=dict)


def _segments(line: Line, x: Scale, y: Scale) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with values (a gap breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(line.values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x(i), y(value)))
    return [run for run in runs if run]


def _grid(y: Scale, ticks: list[float], unit: str, height: int) -> str:
    parts = []
    for tick in ticks:
        py = y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py}" y2="{py}" class="chart__grid"/>'
        )
        parts.append(text(LEFT - 8, py + 4, fmt(tick, unit), anchor="end"))
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{height - BOTTOM}" y2="{height - BOTTOM}" '
        'class="chart__axis"/>'
    )
    return "".join(parts)


def _x_labels(labels: Sequence[str], x: Scale, height: int) -> str:
    widest = max((len(label) for label in labels), default=1)
    shown = shown_labels(len(labels), WIDTH - LEFT - RIGHT, widest)
    return "".join(
        text(x(i), height - BOTTOM + 18, label) for i, label in enumerate(labels) if i in shown
    )


def _points(line: Line, labels: Sequence[str], x: Scale, y: Scale, unit: str) -> str:
    parts = []
    for i, value in enumerate(line.values):
        if value is None:
            continue
        px, py = x(i), y(value)
        mark = line.marks.get(i)
        radius = 6 if mark else 3.2
        tip = f"{line.name} · {labels[i]}: {fmt(value, unit)}" + (f" ({mark})" if mark else "")
        parts.append(
            f'<circle cx="{px}" cy="{py}" r="{radius}" fill="{color(line.color)}" '
            f'class="chart__point{" chart__point--marked" if mark else ""}" '
            f'data-value="{value}"><title>{escape(tip)}</title></circle>'
        )
        if mark:  # above the point, or below it when the point is near the top
            label_y = py - 12 if py - 12 >= TOP + 10 else py + 20
            parts.append(text(px, label_y, mark, css="chart__mark"))
    return "".join(parts)


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    lines: Sequence[Line],
    unit: str = "",
    log: bool = False,
    empty: str = "No data in this window yet.",
    height: int = 220,
    ceiling: float | None = None,
) -> str:
    """A ``<figure>`` with a legend and an SVG line chart, or an empty state."""
    values = [v for line in lines for v in line.values if v is not None and (v > 0 or not log)]
    if not values or not labels:
        return empty_state(empty, title)
    count = len(labels)
    pad = (WIDTH - LEFT - RIGHT) / (2 * count) if count > 1 else (WIDTH - LEFT - RIGHT) / 2
    x = Scale(0, max(count - 1, 1), LEFT + pad, WIDTH - RIGHT - pad)
    if count == 1:
        x = Scale(-1, 1, LEFT, WIDTH - RIGHT)
    y, ticks = value_scale(values, log=log, px_lo=height - BOTTOM, px_hi=TOP, ceiling=ceiling)
    body = [svg_open(height, title), _grid(y, ticks, unit, height), _x_labels(labels, x, height)]
    for line in lines:
        dash = ' stroke-dasharray="6 5"' if line.dashed else ""
        for run in _segments(line, x, y):
            points = " ".join(f"{px},{py}" for px, py in run)
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{color(line.color)}" '
                f'class="chart__line"{dash}/>'
            )
        body.append(_points(line, labels, x, y, unit))
    body.append("</svg>")
    items = [(line.name, line.color, line.dashed) for line in lines]
    return figure("".join(body), title=title, legend_html=legend(items), kind="line")
