"""Percentiles from the stored minute histograms: per endpoint, per timing name, over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitoring.histogram import N_BUCKETS, SLOTS, bucket_ratio, merge_into, percentile
from monitoring.models import LatencyMinute
from monitoring.types import (
    EndpointLatency,
    LatencySeries,
    LatencyStats,
    NamedLatency,
    RequestLatencyReport,
)

#: time-series bin widths tried in order: the first that gives at most MAX_BINS bins wins
BIN_CHOICES = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
MAX_BINS = 36


@dataclass
class Merged:
    counts: list[int] = field(default_factory=lambda: [0] * SLOTS)
    n: int = 0
    total_seconds: float = 0.0

    def add(self, n: int, total: float, counts: list[int]) -> None:
        if len(counts) == SLOTS:
            merge_into(self.counts, counts)
            self.n += n
            self.total_seconds += total

    def stats(self) -> LatencyStats:
        def ms(q: float) -> float | None:
            value = percentile(self.counts, q)
            return None if value is None else round(value * 1000, 3)

        mean = round(self.total_seconds / self.n * 1000, 3) if self.n else None
        return LatencyStats(count=self.n, mean_ms=mean, p50_ms=ms(50), p90_ms=ms(90), p99_ms=ms(99))


Row = tuple[datetime, str, str, str, int, float, list[int]]


def _rows(*, kind: str, since: datetime, until: datetime) -> Iterable[Row]:
    return (
        LatencyMinute.objects.filter(kind=kind, minute__gte=since, minute__lt=until)
        .values_list("minute", "name", "method", "status", "n", "total_seconds", "counts")
        .iterator(chunk_size=2000)
    )


def bin_seconds_for(span: timedelta) -> int:
    seconds = span.total_seconds()
    for width in BIN_CHOICES:
        if seconds / width <= MAX_BINS:
            return width
    return BIN_CHOICES[-1]


def _floor(moment: datetime, width: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % width, tz=UTC)


def _series(bins: list[Merged], start: datetime, width: int) -> LatencySeries:
    stats = [b.stats() for b in bins]
    return LatencySeries(
        bin_seconds=width,
        starts=[(start + timedelta(seconds=i * width)).isoformat() for i in range(len(bins))],
        count=[s["count"] for s in stats],
        p50_ms=[s["p50_ms"] for s in stats],
        p90_ms=[s["p90_ms"] for s in stats],
        p99_ms=[s["p99_ms"] for s in stats],
    )


def _empty_bins(since: datetime, until: datetime, width: int) -> tuple[datetime, list[Merged]]:
    start = _floor(since, width)
    count = max(1, -(-int((until - start).total_seconds()) // width))
    return start, [Merged() for _ in range(count)]


def request_latency_report(*, since: datetime, until: datetime) -> RequestLatencyReport:
    """Per-endpoint p50/p90/p99 (busiest first), overall, and the overall series over time."""
    width = bin_seconds_for(until - since)
    start, bins = _empty_bins(since, until, width)
    endpoints: dict[tuple[str, str], Merged] = defaultdict(Merged)
    errors: dict[tuple[str, str, str], int] = defaultdict(int)
    overall = Merged()
    for minute, name, method, status, n, total, counts in _rows(
        kind=LatencyMinute.Kind.REQUEST, since=since, until=until
    ):
        endpoints[name, method].add(n, total, counts)
        overall.add(n, total, counts)
        index = int((minute - start).total_seconds()) // width
        if 0 <= index < len(bins):
            bins[index].add(n, total, counts)
        if status in ("4xx", "5xx"):
            errors[name, method, status] += n
    rows = [
        EndpointLatency(
            route=route,
            method=method,
            errors_4xx=errors[route, method, "4xx"],
            errors_5xx=errors[route, method, "5xx"],
            **merged.stats(),
        )
        for (route, method), merged in endpoints.items()
    ]
    rows.sort(key=lambda r: (-r["count"], r["route"], r["method"]))
    return RequestLatencyReport(
        hours=round((until - since).total_seconds() / 3600),
        since=since.isoformat(),
        until=until.isoformat(),
        histogram=f"{N_BUCKETS} log-spaced buckets, 0.1 ms to 30 s (x{bucket_ratio():.3f} each)",
        overall=overall.stats(),
        endpoints=rows,
        series=_series(bins, start, width),
    )


def timing_latency_list(*, since: datetime, until: datetime) -> list[NamedLatency]:
    """Each ``monitoring.timing.observe`` name's percentiles over the window, busiest first."""
    names: dict[str, Merged] = defaultdict(Merged)
    for _, name, _, _, n, total, counts in _rows(
        kind=LatencyMinute.Kind.TIMING, since=since, until=until
    ):
        names[name].add(n, total, counts)
    found = [NamedLatency(name=name, **merged.stats()) for name, merged in names.items()]
    return sorted(found, key=lambda r: (-r["count"], r["name"]))


def timing_series(*, name: str, since: datetime, until: datetime) -> LatencySeries:
    width = bin_seconds_for(until - since)
    start, bins = _empty_bins(since, until, width)
    rows = LatencyMinute.objects.filter(
        kind=LatencyMinute.Kind.TIMING, name=name, minute__gte=since, minute__lt=until
    ).values_list("minute", "n", "total_seconds", "counts")
    for minute, n, total, counts in rows:
        index = int((minute - start).total_seconds()) // width
        if 0 <= index < len(bins):
            bins[index].add(n, total, counts)
    return _series(bins, start, width)
