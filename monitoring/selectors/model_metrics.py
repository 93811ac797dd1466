"""Model metrics over versions, and how fresh the models and recommendations are."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from monitoring.selectors.latency import timing_latency_list, timing_series
from monitoring.types import (
    ModelFreshness,
    ModelMetrics,
    RecommendationUpdates,
    RetrainDuration,
    VersionPoint,
)
from recommender.models import ModelVersion, RetrainRun

#: the headline metric of a model: the first of these its versions recorded
MAIN_METRICS = ("ndcg", "ndcg@10 all", "map", "hr", "recall", "precision", "accuracy")
#: timing names charted as recommendation updates (``recs.update``, ``recs.update.user``, ...)
RECS_UPDATE = "recs.update"
MAX_SERIES = 4
UPDATE_DEFINITIONS = {
    "observed": "Durations reported by the serving code through monitoring.timing.observe: "
    f"names starting {RECS_UPDATE!r} time a list being recomputed after what changed it "
    "(feedback, new plays, curation, a new model version); every other name is listed too.",
    "retrains": "Model update latency: how long each retrain run took, start to finish "
    "(RetrainRun rows); a failed or held run keeps the previous version serving.",
    "freshness": "Age of each active model version: time since it became active.",
}


def _numbers(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def main_metric(versions: list[dict[str, float]]) -> str | None:
    keys = {k for metrics in versions for k in metrics}
    for name in MAIN_METRICS:
        if name in keys:
            return name
    return min(keys) if keys else None


def model_metrics_list() -> list[ModelMetrics]:
    """Every model name's versions, oldest first, with its main metric per version."""
    by_name: dict[str, list[ModelVersion]] = defaultdict(list)
    for row in ModelVersion.objects.order_by("name", "created_at", "pk"):
        by_name[row.name].append(row)
    found = []
    for name, rows in sorted(by_name.items()):
        numbers = [_numbers(row.metrics) for row in rows]
        metric = main_metric(numbers)
        active = next((r.version for r in rows if r.status == ModelVersion.Status.ACTIVE), None)
        points = [
            VersionPoint(
                version=row.version,
                status=row.status,
                created_at=row.created_at.isoformat(),
                value=values.get(metric) if metric else None,
                metrics=values,
            )
            for row, values in zip(rows, numbers, strict=True)
        ]
        found.append(
            ModelMetrics(name=name, metric=metric or "", active_version=active, versions=points)
        )
    return found


def _retrains(since: datetime) -> list[RetrainDuration]:
    found = []
    for run in RetrainRun.objects.filter(started_at__gte=since).order_by("started_at", "pk"):
        finished = run.finished_at
        found.append(
            RetrainDuration(
                name=run.name,
                status=run.status,
                started_at=run.started_at.isoformat(),
                finished_at=finished.isoformat() if finished else None,
                seconds=round((finished - run.started_at).total_seconds(), 3) if finished else None,
                version=run.version,
            )
        )
    return found


def _freshness(now: datetime) -> list[ModelFreshness]:
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).order_by("name")
    found = []
    for row in active:
        since = row.activated_at or row.created_at
        found.append(
            ModelFreshness(
                name=row.name,
                version=row.version,
                active_since=since.isoformat(),
                age_hours=round((now - since).total_seconds() / 3600, 2),
            )
        )
    return found


def recommendation_updates(
    *, since: datetime, until: datetime, days_since: datetime
) -> RecommendationUpdates:
    """Observed update timings over ``since``-``until``; retrains since ``days_since``."""
    observed = timing_latency_list(since=since, until=until)
    names = [row["name"] for row in observed if row["name"].startswith(RECS_UPDATE)]
    return RecommendationUpdates(
        definitions=UPDATE_DEFINITIONS,
        observed=observed,
        observed_series={
            name: timing_series(name=name, since=since, until=until)
            for name in sorted(names[:MAX_SERIES] or [RECS_UPDATE])
        },
        retrains=_retrains(days_since),
        freshness=_freshness(until),
    )
