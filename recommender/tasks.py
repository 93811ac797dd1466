"""Celery tasks of the recommender: take ids or a window, call a service (STYLE rule 7)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from recommender.serving.precompute import (
    DEFAULT_DAYS,
    DEFAULT_LIMIT,
    active_listener_ids,
    recommendations_precompute,
)


@shared_task(acks_late=True)  # type: ignore[untyped-decorator]
def recommendations_precompute_active(
    days: int = DEFAULT_DAYS, limit: int = DEFAULT_LIMIT, n: int = 10
) -> int:
    """Warm the result cache for the listeners active in the last ``days`` days."""
    return recommendations_precompute(user_ids=active_listener_ids(days=days, limit=limit), n=n)


@shared_task(acks_late=False)  # type: ignore[untyped-decorator]
def model_retrain_task(
    name: str,
    tiny: bool = False,
    trigger: str = "schedule",
    params: dict[str, Any] | None = None,
) -> str:
    """Retrain one model in the worker (the beat schedules; ``manage.py retrain`` runs it in the
    foreground). Not re-delivered after a crash: the next scheduled run retries."""
    from recommender.models import RetrainRun
    from recommender.services.retrain import model_retrain

    run = model_retrain(name=name, trigger=trigger, tiny=tiny, params=params)
    if run.status == RetrainRun.Status.SKIPPED:
        return f"{run.name}: skipped: {run.reason}"
    if run.status == RetrainRun.Status.HELD:
        return f"{run.name}: version {run.version} held as a candidate: {run.reason}"
    return f"{run.name}: version {run.version} is active ({run.reason})"
