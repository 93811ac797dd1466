"""Model metrics over versions, the active one marked; retrain durations and freshness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.selectors.model_metrics import (
    main_metric,
    model_metrics_list,
    recommendation_updates,
)
from recommender.models import ModelVersion, RetrainRun

pytestmark = pytest.mark.django_db


def _version(name: str, version: str, status: str, metrics: dict[str, object], age: int) -> None:
    ModelVersion.objects.create(
        name=name, version=version, model_type=name, status=status, metrics=metrics,
        path=f"/store/{name}/{version}", created_at=timezone.now() - timedelta(days=age),
        activated_at=timezone.now() - timedelta(hours=5) if status == "active" else None,
    )  # fmt: skip


def test_each_model_main_metric_over_versions_oldest_first() -> None:
    _version("hybrid", "2", "active", {"ndcg": 0.31, "ndcg@10 all": 0.31}, age=1)
    _version("hybrid", "1", "retired", {"ndcg": 0.25, "note": "text is skipped"}, age=3)
    _version("hybrid", "3", "candidate", {"ndcg": 0.29}, age=0)
    _version("content", "1", "active", {"genre_accuracy": 0.7}, age=2)

    content, hybrid = model_metrics_list()

    assert (hybrid["name"], hybrid["metric"], hybrid["active_version"]) == ("hybrid", "ndcg", "2")
    assert [v["version"] for v in hybrid["versions"]] == ["1", "2", "3"]
    assert [v["value"] for v in hybrid["versions"]] == [0.25, 0.31, 0.29]
    assert hybrid["versions"][0]["metrics"] == {"ndcg": 0.25}
    assert (content["metric"], content["versions"][0]["value"]) == ("genre_accuracy", 0.7)


def test_main_metric_prefers_ranking_metrics() -> None:
    assert main_metric([{"map": 0.1, "ndcg": 0.2}]) == "ndcg"
    assert main_metric([{"zeta": 1.0}, {"alpha": 2.0}]) == "alpha"
    assert main_metric([{}]) is None


def test_retrain_durations_and_freshness() -> None:
    now = timezone.now()
    _version("hybrid", "2", "active", {"ndcg": 0.31}, age=1)
    RetrainRun.objects.create(
        name="hybrid", status="succeeded", version="2", started_at=now - timedelta(minutes=10),
        finished_at=now - timedelta(minutes=8),
    )  # fmt: skip
    RetrainRun.objects.create(name="group", status="running", started_at=now)

    updates = recommendation_updates(
        since=now - timedelta(hours=1), until=now, days_since=now - timedelta(days=1)
    )

    done, running = updates["retrains"]
    assert (done["name"], done["seconds"], running["seconds"]) == ("hybrid", 120.0, None)
    (fresh,) = updates["freshness"]
    assert (fresh["name"], fresh["age_hours"]) == ("hybrid", pytest.approx(5.0, abs=0.01))
    assert "recs.update" in updates["observed_series"]
    assert set(updates["definitions"]) == {"observed", "retrains", "freshness"}
