"""Number formats for the dashboard: milliseconds, ratios, percentages, ages."""

from __future__ import annotations

from datetime import datetime

from django import template

from monitoring.charts.scale import fmt

register = template.Library()
DASH = "—"


@register.filter
def ms(value: float | None) -> str:
    """``3.2 ms``, ``1.25 s``; a dash when there is no value."""
    if value is None:
        return DASH
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"


@register.filter
def num(value: float | None) -> str:
    return DASH if value is None else fmt(float(value))


@register.filter
def percent(value: float | None) -> str:
    """A 0-1 share as a percentage."""
    return DASH if value is None else f"{100 * float(value):.1f}%"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return DASH
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s"


@register.filter
def when(value: str | None) -> str:
    """An ISO timestamp as ``27 Nov 12:16`` (UTC)."""
    if not value:
        return DASH
    return datetime.fromisoformat(value).strftime("%d %b %H:%M")


@register.filter
def metric(value: float | None) -> str:
    """A model metric, to four decimals (versions differ in the third)."""
    return DASH if value is None else f"{float(value):.4f}"
