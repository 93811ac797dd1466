"""Percentiles per endpoint and over time, from minute rows written by several processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitoring.histogram import slot_of
from monitoring.recorder import REQUEST, TIMING, Recorder
from monitoring.selectors.latency import (
    bin_seconds_for,
    request_latency_report,
    timing_latency_list,
    timing_series,
)
from monitoring.services.latency import latency_flush

pytestmark = pytest.mark.django_db


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(tz=UTC)
    return now - timedelta(hours=1), now + timedelta(minutes=1)


def test_endpoint_percentiles_merge_every_process_and_status() -> None:
    rng = np.random.default_rng(3)
    fast, slow = rng.lognormal(np.log(0.002), 0.3, 400), rng.lognormal(np.log(0.02), 0.3, 100)
    workers = [Recorder(), Recorder()]
    for i, seconds in enumerate(fast):
        workers[i % 2].record(REQUEST, "/api/v1/ping", "GET", "2xx", float(seconds))
    for seconds in slow:
        workers[1].record(REQUEST, "/api/v1/recommendations/user", "GET", "2xx", float(seconds))
    for _ in range(7):
        workers[0].record(REQUEST, "/api/v1/recommendations/user", "GET", "4xx", 0.001)
    workers[0].record(REQUEST, "/api/v1/recommendations/user", "GET", "5xx", 0.5)
    for worker in workers:
        latency_flush(recorder=worker)

    since, until = _window()
    report = request_latency_report(since=since, until=until)

    busiest, recs = report["endpoints"]
    assert (busiest["route"], busiest["count"]) == ("/api/v1/ping", 400)
    assert (recs["count"], recs["errors_4xx"], recs["errors_5xx"]) == (108, 7, 1)
    exact = np.percentile(fast, 50) * 1000
    assert busiest["p50_ms"] is not None
    assert abs(slot_of(busiest["p50_ms"] / 1000) - slot_of(exact / 1000)) <= 1
    assert busiest["p50_ms"] < busiest["p90_ms"] < busiest["p99_ms"]  # type: ignore[operator]
    assert report["overall"]["count"] == 508
    assert sum(report["series"]["count"]) == 508
    assert report["series"]["bin_seconds"] == 300


def test_an_empty_window_has_no_percentiles() -> None:
    since, until = _window()
    report = request_latency_report(since=since, until=until)
    assert report["endpoints"] == []
    assert report["overall"] == {
        "count": 0, "mean_ms": None, "p50_ms": None, "p90_ms": None, "p99_ms": None,
    }  # fmt: skip
    assert set(report["series"]["p99_ms"]) == {None}


def test_timings_are_listed_by_name_with_a_series() -> None:
    worker = Recorder()
    for seconds in (0.01, 0.02, 0.03, 0.04):
        worker.record(TIMING, "recs.update", "", "", seconds)
    latency_flush(recorder=worker)
    since, until = _window()

    (row,) = timing_latency_list(since=since, until=until)
    series = timing_series(name="recs.update", since=since, until=until)

    assert (row["name"], row["count"], row["mean_ms"]) == ("recs.update", 4, pytest.approx(25.0))
    assert sum(series["count"]) == 4


@pytest.mark.parametrize(
    ("hours", "width"), [(1, 300), (4, 900), (24, 3600), (24 * 7, 6 * 3600), (24 * 30, 86400)]
)
def test_series_bins_stay_readable(hours: int, width: int) -> None:
    assert bin_seconds_for(timedelta(hours=hours)) == width
