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


def _unchanged_reason(*, store_name: str, ml_name: str, tiny: bool) -> str | None:
    """Why a scheduled retrain has nothing to do, or None: it skips only when the active version
    was trained on exactly the current data (same fingerprint: no new events since) with the
    configuration a retrain would use (same parameters)."""
    from ml.artifacts import jsonable
    from ml.base import BaseRecommender
    from ml.content.estimator import ContentRecommender
    from ml.hybrid.estimator import HybridRecommender
    from ml.models import build
    from recommender.selectors_content import content_interactions_build
    from recommender.services.model_versions import model_store
    from recommender.services.training import _training_data

    store = model_store()
    active = store.active_version(store_name)
    if active is None:
        return None
    manifest = store.manifest(store_name, active)
    fresh: BaseRecommender
    if store_name in (CONTENT, HYBRID):
        data = content_interactions_build()
        cls = ContentRecommender if store_name == CONTENT else HybridRecommender
        fresh = cls.tiny() if tiny else cls()
    else:
        data = _training_data(ml_name)
        fresh = build(ml_name, tiny=tiny)
    fingerprint = data.fingerprint()
    if fingerprint != manifest.get("data_fingerprint"):
        return None
    if jsonable(fresh.get_params()) != manifest.get("params"):
        return None
    return (
        f"no new events since version {active} (data fingerprint {fingerprint}) and the same "
        "configuration: nothing to retrain"
    )


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
    ``held`` (with the gate's reason) when it was kept as a candidate. A scheduled run is
    ``skipped`` when nothing changed since the active version (see ``_unchanged_reason``): the
    daily user-model retrain costs nothing on a day without new events.
    """
    store_name, ml_name = model_name_resolve(name=name)
    retrain_runs_mark_killed(name=store_name)
    if trigger == "schedule" and not params:
        unchanged = _unchanged_reason(store_name=store_name, ml_name=ml_name, tiny=tiny)
        if unchanged is not None:
            return RetrainRun.objects.create(
                name=store_name, trigger=trigger, status=RetrainRun.Status.SKIPPED,
                reason=unchanged, finished_at=timezone.now(),
            )  # fmt: skip
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
