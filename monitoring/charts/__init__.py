"""Small server-side SVG charts (no JavaScript, no CDN): lines, grouped bars, columns.

Each builder returns a ``<figure>`` (legend + inline ``<svg>``) or an empty-state figure when
there is nothing to draw; every data point is an element with ``data-value`` and a tooltip.
"""

from __future__ import annotations

from monitoring.charts.bar import Bars, column_chart, hbar_chart
from monitoring.charts.line import Line, line_chart

__all__ = ["Bars", "Line", "column_chart", "hbar_chart", "line_chart"]
