"""Bar charts: grouped horizontal bars (per endpoint) and columns (a distribution)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from monitoring.charts.scale import (
    WIDTH,
    attr,
    color,
    empty_state,
    figure,
    fmt,
    legend,
    svg_open,
    text,
    value_scale,
)

LABEL_CHARS = 72
LABEL, BAR, GAP, AXIS = 15, 8, 12, 26
LEFT, RIGHT = 8, 18


@dataclass(frozen=True)
class Bars:
    name: str
    values: Sequence[float | None]
    color: int = 0


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else "…" + label[-(LABEL_CHARS - 1) :]


def hbar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Bars],
    unit: str = "",
    log: bool = False,
    empty: str = "No data in this window yet.",
) -> str:
    """One row per category (its label above), one bar per series in it (p50, p90, p99)."""
    values = [v for s in series for v in s.values if v is not None and (v > 0 or not log)]
    if not values or not categories:
        return empty_state(empty, title)
    row = LABEL + len(series) * BAR + GAP
    height = int(row * len(categories) + AXIS)
    x, ticks = value_scale(values, log=log, px_lo=LEFT, px_hi=WIDTH - RIGHT)
    floor = x(ticks[0])
    body = [svg_open(height, title)]
    for tick in ticks:
        px = x(tick)
        body.append(f'<line x1="{px}" x2="{px}" y1="4" y2="{height - AXIS}" class="chart__grid"/>')
        anchor = "start" if px <= LEFT else "end" if px >= WIDTH - RIGHT else "middle"
        body.append(text(px, height - AXIS + 16, fmt(tick, unit), anchor=anchor))
    for r, category in enumerate(categories):
        top = r * row + LABEL
        body.append(
            f'<text x="{LEFT}" y="{top - 4}" class="chart__label chart__label--category">'
            f"<title>{escape(category)}</title>{escape(_short(category))}</text>"
        )
        shown = [fmt(v, unit) for v in (s.values[r] for s in series) if v is not None]
        body.append(text(WIDTH - RIGHT, top - 4, " · ".join(shown), anchor="end"))
        for s_index, s in enumerate(series):
            value = s.values[r]
            if value is None or (log and value <= 0):
                continue
            width = max(x(value) - floor, 1.5)
            tip = f"{category} · {s.name}: {fmt(value, unit)}"
            body.append(
                f'<rect x="{floor}" y="{top + s_index * BAR}" width="{round(width, 2)}" '
                f'height="{BAR - 2}" rx="2" fill="{color(s.color)}" class="chart__bar" '
                f'data-value="{value}"><title>{escape(tip)}</title></rect>'
            )
    body.append("</svg>")
    items = [(s.name, s.color, False) for s in series]
    return figure("".join(body), title=title, legend_html=legend(items), kind="bars")


def column_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str = "",
    name: str = "",
    reference: float | None = None,
    reference_name: str = "",
    empty: str = "No data yet.",
    height: int = 220,
) -> str:
    """Vertical columns, with an optional dashed reference level (e.g. a uniform share)."""
    if not values or not any(values):
        return empty_state(empty, title)
    left, bottom, top = 48, 30, 12
    ceiling = max(reference or 0.0, *values)
    y, ticks = value_scale(list(values), log=False, px_lo=height - bottom, px_hi=top,
                           ceiling=ceiling)  # fmt: skip
    slot = (WIDTH - left - 12) / len(values)
    body = [svg_open(height, title)]
    for tick in ticks:
        py = y(tick)
        body.append(
            f'<line x1="{left}" x2="{WIDTH - 12}" y1="{py}" y2="{py}" class="chart__grid"/>'
        )
        body.append(text(left - 8, py + 4, fmt(tick, unit), anchor="end"))
    for i, value in enumerate(values):
        px = left + i * slot + slot * 0.15
        tip = escape(f"{labels[i]}: {fmt(value, unit)}")
        body.append(
            f'<rect x="{round(px, 2)}" y="{y(value)}" width="{round(slot * 0.7, 2)}" '
            f'height="{round(y(0) - y(value), 2)}" rx="3" fill="{color(0)}" class="chart__bar" '
            f'data-value="{value}"><title>{tip}</title></rect>'
        )
        body.append(text(round(px + slot * 0.35, 2), height - bottom + 18, labels[i]))
    items = [(name or title, 0, False)]
    if reference is not None:
        py = y(reference)
        body.append(
            f'<line x1="{left}" x2="{WIDTH - 12}" y1="{py}" y2="{py}" stroke="{color(2)}" '
            f'stroke-dasharray="6 5" class="chart__reference" data-value="{attr(reference)}"/>'
        )
        items.append((reference_name or "reference", 2, True))
    body.append("</svg>")
    return figure("".join(body), title=title, legend_html=legend(items), kind="columns")
