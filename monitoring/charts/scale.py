"""Axes arithmetic and SVG text helpers shared by the chart builders."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: teal, violet, amber, pink, sky, lime: the site's accents first
PALETTE = ("#1ed5a4", "#8b6dff", "#ffb547", "#ff6b9a", "#4cc3ff", "#c3e88d")
WIDTH = 520
FONT = 11


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def attr(value: object) -> str:
    return escape(str(value), quote=True)


def nice_step(span: float, target: int) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``target`` intervals."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return float(multiple * power)
    return float(10 * power)


def linear_ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    """Ticks from a multiple of the step at or below ``lo`` to one at or above ``hi``."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step(hi - lo, target)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten around ``lo``-``hi`` (with 2 and 5 between when there are few)."""
    lo = max(lo, 1e-6)
    hi = max(hi, lo * 10)
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [10.0**k for k in range(first, last + 1)]
    if len(decades) > 3:
        return decades
    ticks = [d * m for d in decades[:-1] for m in (1, 2, 5)] + [decades[-1]]
    return [t for t in ticks if lo / 2.5 <= t <= hi * 2.5] or decades


def fmt(value: float, unit: str = "") -> str:
    """A short human number: 0.35, 12, 1.2k, 3.4M; ``ms`` past 1000 becomes seconds."""
    if unit == "ms" and abs(value) >= 1000:
        return fmt(value / 1000, "s")
    magnitude = abs(value)
    if magnitude >= 1e6:
        text = f"{value / 1e6:.3g}M"
    elif magnitude >= 1e4:
        text = f"{value / 1e3:.3g}k"
    elif magnitude >= 100 or value == int(value):
        text = f"{value:,.0f}"
    elif magnitude >= 1:
        text = f"{value:.3g}"
    else:
        text = f"{value:.2g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


@dataclass(frozen=True)
class Scale:
    """Maps data values to pixels, linearly or on a log axis."""

    lo: float
    hi: float
    px_lo: float
    px_hi: float
    log: bool = False

    def __call__(self, value: float) -> float:
        if self.log:
            value, lo, hi = (math.log10(max(v, 1e-9)) for v in (value, self.lo, self.hi))
        else:
            lo, hi = self.lo, self.hi
        share = (value - lo) / (hi - lo) if hi != lo else 0.5
        return round(self.px_lo + share * (self.px_hi - self.px_lo), 2)


def value_scale(
    values: Sequence[float],
    *,
    log: bool,
    px_lo: float,
    px_hi: float,
    zero: bool = True,
    ceiling: float | None = None,
) -> tuple[Scale, list[float]]:
    """A scale covering ``values`` and its tick values."""
    if log:
        positive = [v for v in values if v > 0] or [1.0]
        ticks = log_ticks(min(positive), max(positive))
    else:
        lo = min([0.0, *values]) if zero else min(values)
        hi = max(values) if ceiling is None else max(ceiling, max(values))
        ticks = linear_ticks(lo, hi)
    return Scale(ticks[0], ticks[-1], px_lo, px_hi, log), ticks


def shown_labels(count: int, room: float, widest: int) -> set[int]:
    """Which of ``count`` category labels to print so that they do not overlap."""
    if count == 0:
        return set()
    fits = max(1, int(room // max(widest * FONT * 0.62 + 10, 1)))
    step = max(1, math.ceil(count / fits))
    return set(range(count - 1, -1, -step))  # anchored on the latest


def text(
    x: float, y: float, body: str, *, anchor: str = "middle", css: str = "chart__label"
) -> str:
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}" class="{css}">{escape(body)}</text>'


def svg_open(height: int, title: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{attr(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )


def legend(items: Sequence[tuple[str, int, bool]]) -> str:
    """An HTML legend: (name, palette index, dashed) per item."""
    entries = "".join(
        f'<li><span class="chart__swatch{" chart__swatch--dashed" if dashed else ""}" '
        f'style="--swatch: {color(index)}"></span>{escape(name)}</li>'
        for name, index, dashed in items
    )
    return f'<ul class="chart__legend">{entries}</ul>'


def figure(body: str, *, title: str, legend_html: str = "", kind: str = "line") -> str:
    return (
        f'<figure class="chart chart--{kind}" data-chart="{attr(title)}">'
        f"{legend_html}{body}</figure>"
    )


def empty_state(message: str, title: str) -> str:
    return (
        f'<figure class="chart chart--empty" data-chart="{attr(title)}">'
        f'<p class="chart-empty">{escape(message)}</p></figure>'
    )
