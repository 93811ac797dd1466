"""Retrains: the scheduled and the foreground ones, recorded run by run.

A retrain is a training run (``model_train``, ``content_train`` or ``hybrid_train``) with a
:class:`RetrainRun` row around it. Training publishes atomically and activates last, only when
the promotion gate allows (``recommender.services.promotion``), so a run
that fails, or a worker killed mid-fit, leaves the active version serving; the row says what
happened (a run left ``running`` for ``STALE_AFTER`` is marked failed by the next one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.utils import timezone

from recommender.models import ModelVersion, RetrainRun
from recommender.services.content import STORE_NAME as CONTENT
from recommender.services.content import content_train
from recommender.services.hybrid import STORE_NAME as HYBRID
from recommender.services.hybrid import hybrid_train
from recommender.services.model_versions import model_name_resolve
from recommender.services.training import model_train

STALE_AFTER = timedelta(hours=12)
KILLED = "did not finish: the worker was stopped or lost mid-run (the active version kept serving)"


def retrain_runs_mark_killed(*, name: str) -> int:
    """Mark ``name``'s runs still ``running`` after ``STALE_AFTER`` as failed."""
    return RetrainRun.objects.filter(
        name=name,
        status=RetrainRun.Status.RUNNING,
        started_at__lt=timezone.now() - STALE_AFTER,
    ).update(status=RetrainRun.Status.FAILED, reason=KILLED, finished_at=timezone.now())


def model_retrain(
    *,
    name: str,
    trigger: str = "command",
    tiny: bool = False,
    progress: bool = False,
    params: Mapping[str, Any] | None = None,
) -> RetrainRun:
    """Retrain ``name`` on the current data and record the run; re-raises a failure.

    The run ``succeeded`` when the new version passed the promotion gate and serves, and is
    ``held`` (with the gate's reason) when it was kept as a candidate.
    """
    store_name, _ = model_name_resolve(name=name)
    retrain_runs_mark_killed(name=store_name)
    run = RetrainRun.objects.create(name=store_name, trigger=trigger)
    train = {CONTENT: content_train, HYBRID: hybrid_train}.get(store_name, model_train)
    try:
        row = train(
            name=name, tiny=tiny, progress=progress, params=params,
            command=f"manage.py retrain {name}{' --tiny' if tiny else ''} ({trigger})",
        )  # fmt: skip
    except Exception as exc:
        run.status = RetrainRun.Status.FAILED
        run.reason = str(getattr(exc, "message", exc)) or type(exc).__name__
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "reason", "finished_at"])
        raise
    held = row.status != ModelVersion.Status.ACTIVE
    run.status = RetrainRun.Status.HELD if held else RetrainRun.Status.SUCCEEDED
    run.reason = row.status_reason
    run.version = row.version
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "reason", "version", "finished_at"])
    return run
