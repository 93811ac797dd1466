"""The SVG chart builders: points and bars carry their values; empty data is an empty state."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from monitoring.charts import Bars, Line, column_chart, hbar_chart, line_chart
from monitoring.charts.scale import fmt, linear_ticks, log_ticks, shown_labels

SVG = "{http://www.w3.org/2000/svg}"


def _svg(html: str) -> ElementTree.Element:
    match = re.search(r"<svg.*</svg>", html, re.S)
    assert match is not None
    return ElementTree.fromstring(match.group(0))  # well-formed XML


def test_a_line_chart_draws_each_value_and_breaks_at_gaps() -> None:
    html = line_chart(
        title="Daily <listeners>", labels=["1 Mar", "2 Mar", "3 Mar", "4 Mar"],
        lines=[Line("listeners", [3, None, 5, 8]), Line("rooms", [1, 2, 2, 1], color=1)],
    )  # fmt: skip
    svg = _svg(html)
    points = svg.findall(f".//{SVG}circle")
    assert sorted(float(p.get("data-value", "")) for p in points) == [1, 1, 2, 2, 3, 5, 8]
    assert len(svg.findall(f".//{SVG}polyline")) == 3  # listeners: [3] alone, [5, 8]; rooms
    assert "Daily &lt;listeners&gt;" in html
    assert 'class="chart__legend"' in html and "rooms" in html


def test_higher_values_are_drawn_higher() -> None:
    svg = _svg(line_chart(title="t", labels=["a", "b"], lines=[Line("x", [1.0, 10.0])]))
    low, high = (float(c.get("cy", "")) for c in svg.findall(f".//{SVG}circle"))
    assert high < low


def test_a_marked_point_is_labelled() -> None:
    html = line_chart(
        title="ndcg", labels=["v1", "v2"], lines=[Line("ndcg", [0.2, 0.3], marks={1: "active"})]
    )
    assert "chart__point--marked" in html and ">active</text>" in html


@pytest.mark.parametrize("values", [[], [None, None]])
def test_nothing_to_draw_is_an_empty_state(values: list[float | None]) -> None:
    html = line_chart(title="t", labels=["a", "b"][: len(values)], lines=[Line("x", values)],
                      empty="No requests in this window yet.")  # fmt: skip
    assert "<svg" not in html and "No requests in this window yet." in html


def test_grouped_bars_on_a_log_axis() -> None:
    html = hbar_chart(
        title="per endpoint", categories=["GET /api/v1/ping", "GET /" + "x" * 90],
        series=[Bars("p50", [1.5, 20.0]), Bars("p99", [4.0, None], color=3)], unit="ms", log=True,
    )  # fmt: skip
    svg = _svg(html)
    bars = svg.findall(f".//{SVG}rect")
    assert [float(b.get("data-value", "")) for b in bars] == [1.5, 4.0, 20.0]
    assert "…" in html  # a long route is shortened, with the full one in its tooltip
    assert "1.5 ms · 4 ms" in html  # each row's values, printed


def test_columns_with_a_reference_line() -> None:
    html = column_chart(title="deciles", labels=[str(i) for i in range(10)],
                        values=[5.0] * 9 + [55.0], unit="%", reference=10.0)  # fmt: skip
    svg = _svg(html)
    assert len(svg.findall(f".//{SVG}rect")) == 10
    assert 'class="chart__reference"' in html


def test_axis_helpers() -> None:
    assert linear_ticks(0, 7.3) == [0, 2, 4, 6, 8]
    assert log_ticks(0.8, 250) == [0.1, 1.0, 10.0, 100.0, 1000.0]
    assert fmt(1500, "ms") == "1.5 s" and fmt(12345) == "12.3k" and fmt(0.25, "%") == "0.25%"
    assert shown_labels(30, 560, 6) == set(range(29, -1, -3))  # the latest always labelled
