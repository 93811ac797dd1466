"""The dashboard payload turned into charts (inline SVG) for the page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from monitoring.charts import Bars, Line, column_chart, hbar_chart, line_chart
from monitoring.selectors.model_metrics import RECS_UPDATE
from monitoring.types import BusinessReport, Dashboard, LatencySeries, ModelMetrics

TOP_ENDPOINTS = 12
NO_REQUESTS = "No requests in this window yet."


def _bin_labels(series: LatencySeries) -> list[str]:
    starts = [datetime.fromisoformat(s) for s in series["starts"]]
    pattern = "%H:%M" if series["bin_seconds"] < 86400 else "%d %b"
    if series["bin_seconds"] < 86400 and starts and starts[0].date() != starts[-1].date():
        pattern = "%d %b %H:%M" if series["bin_seconds"] >= 3 * 3600 else "%H:%M"
    return [s.strftime(pattern) for s in starts]


def _percentile_lines(series: LatencySeries) -> list[Line]:
    return [
        Line("p50", series["p50_ms"], color=0),
        Line("p90", series["p90_ms"], color=1),
        Line("p99", series["p99_ms"], color=3, dashed=True),
    ]


def latency_charts(payload: Dashboard) -> dict[str, SafeString]:
    report = payload["request_latency"]
    top = report["endpoints"][:TOP_ENDPOINTS]
    categories = [f"{e['method']} {e['route']}" for e in top]
    return {
        "over_time": mark_safe(line_chart(
            title="Request latency over time (all endpoints)",
            labels=_bin_labels(report["series"]), lines=_percentile_lines(report["series"]),
            unit="ms", log=True, empty=NO_REQUESTS,
        )),
        "per_endpoint": mark_safe(hbar_chart(
            title="Latency per endpoint (busiest first)", categories=categories,
            series=[
                Bars("p50", [e["p50_ms"] for e in top], color=0),
                Bars("p90", [e["p90_ms"] for e in top], color=1),
                Bars("p99", [e["p99_ms"] for e in top], color=3),
            ],
            unit="ms", log=True, empty=NO_REQUESTS,
        )),
    }  # fmt: skip


def retrain_chart(payload: Dashboard) -> SafeString:
    runs = payload["recommendation_updates"]["retrains"][-10:]
    return mark_safe(
        hbar_chart(
            title="Retrain run durations (latest 10)",
            categories=[f"{r['name']} · {r['started_at'][:16].replace('T', ' ')}" for r in runs],
            series=[Bars("duration", [r["seconds"] for r in runs], color=2)],
            unit="s",
            empty="No retrain runs in this window.",
        )
    )


def observed_charts(payload: Dashboard) -> list[tuple[str, SafeString]]:
    """One chart per ``recs.update*`` timing name (the placeholder one when none came in)."""
    return [
        (name, mark_safe(line_chart(
            title=f"{name} latency over time", labels=_bin_labels(series),
            lines=_percentile_lines(series), unit="ms", log=True,
            empty=f"No {RECS_UPDATE} timings reported in this window yet.",
        )))
        for name, series in payload["recommendation_updates"]["observed_series"].items()
    ]  # fmt: skip


def model_chart(model: ModelMetrics) -> SafeString:
    versions = model["versions"]
    marks = {i: "active" for i, v in enumerate(versions) if v["status"] == "active"}
    return mark_safe(
        line_chart(
            title=f"{model['name']}: {model['metric']} over versions",
            labels=[f"v{v['version']}" for v in versions],
            lines=[Line(model["metric"] or "metric", [v["value"] for v in versions], marks=marks)],
            empty="No numeric metrics recorded for this model.",
            height=180,
        )
    )


def _day_labels(business: BusinessReport) -> list[str]:
    return [date.fromisoformat(d).strftime("%d %b") for d in business["days"]]


def business_charts(payload: Dashboard) -> dict[str, SafeString]:
    business = payload["business"]
    m, labels = business["metrics"], _day_labels(business)

    def chart(title: str, keys: list[str], unit: str = "", **extra: Any) -> SafeString:
        lines = [Line(m[k]["label"], m[k]["values"], color=i) for i, k in enumerate(keys)]
        return mark_safe(line_chart(title=title, labels=labels, lines=lines, unit=unit,
                                    empty="No activity in this window yet.", height=200,
                                    **extra))  # fmt: skip

    return {
        "listeners": chart("Daily active listeners", ["active_listeners"]),
        "per_listener": chart(
            "Plays and reactions per active listener",
            ["plays_per_listener", "reactions_per_listener"],
        ),
        "rooms": chart("Active room sessions", ["active_rooms"]),
        "per_room": chart(
            "Members and queue adds per active room", ["members_per_room", "queue_adds_per_room"]
        ),
        "playlists": chart("Playlists saved per room session", ["playlist_creation_rate"]),
        "collaboration": chart(
            "Collaboration success rate", ["collaboration_success_rate"], unit="%", ceiling=100.0
        ),
    }


def bias_chart(payload: Dashboard) -> SafeString:
    deciles = payload["bias"]["popularity_deciles"]
    return mark_safe(
        column_chart(
            title="Recommended tracks by catalogue popularity decile",
            labels=[f"{10 * i}-{10 * i + 10}" for i in range(10)],
            values=deciles,
            unit="%",
            name="share of recommended tracks",
            reference=10.0 if deciles else None,
            reference_name="no popularity bias (10% each)",
            empty="No recommendations sampled yet.",
        )
    )


def dashboard_context(payload: Dashboard) -> dict[str, Any]:
    return {
        "data": payload,
        "latency_charts": latency_charts(payload),
        "retrain_chart": retrain_chart(payload),
        "observed_charts": observed_charts(payload),
        "model_charts": [(model, model_chart(model)) for model in payload["models"]],
        "business_charts": business_charts(payload),
        "bias_chart": bias_chart(payload),
    }
