"""Everything the dashboard and ``metrics.json`` show, in one payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from monitoring.selectors.business import business_report
from monitoring.selectors.latency import request_latency_report
from monitoring.selectors.model_metrics import model_metrics_list, recommendation_updates
from monitoring.services.bias import bias_report_get
from monitoring.services.latency import latency_flush
from monitoring.types import Dashboard

DEFAULT_DAYS = 14
MAX_DAYS = 90
DEFAULT_HOURS = 24
MAX_HOURS = 24 * 30


def dashboard_collect(*, days: int, hours: int, now: datetime | None = None) -> Dashboard:
    """Request latency over the last ``hours``; business metrics over ``days`` UTC days.

    This process's pending histograms are flushed first, so the page includes the requests
    that led to it; other processes' arrive within their flush interval.
    """
    latency_flush()
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    until = now + timedelta(minutes=1)  # the current minute's row starts before ``now``
    return Dashboard(
        generated_at=now.isoformat(),
        days=days,
        hours=hours,
        request_latency=request_latency_report(since=since, until=until),
        recommendation_updates=recommendation_updates(
            since=since, until=until, days_since=now - timedelta(days=days)
        ),
        models=model_metrics_list(),
        business=business_report(days=days, today=now.astimezone(UTC).date()),
        bias=bias_report_get(),
    )
