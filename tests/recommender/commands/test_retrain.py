"""``manage.py retrain``: the scheduled task in the foreground, each run recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ml.artifacts import ModelStore
from recommender.models import ModelVersion, RetrainRun
from recommender.services.imports import lastfm_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> ModelStore:
    settings.ML_STORE_DIR = tmp_path / "models"
    return ModelStore(settings.ML_STORE_DIR)


def test_a_retrain_publishes_a_version_and_records_the_run(
    store: ModelStore, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    out = StringIO()

    call_command("retrain", "ncf", "--tiny", stdout=out)

    run = RetrainRun.objects.get()
    assert (run.name, run.trigger, run.status) == ("user_preference", "command", "succeeded")
    assert run.version == store.active_version("user_preference") == "0001"
    assert run.finished_at is not None and "version 0001 is active" in out.getvalue()
    assert "retrain" in ModelVersion.objects.get(version="0001").command


def test_a_failed_retrain_keeps_the_active_version_and_says_why(
    store: ModelStore, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    call_command("retrain", "ncf", "--tiny", stdout=StringIO())
    from recommender.models import ArtistPlayCount, FeedbackEvent, ListeningEvent

    for model in (ArtistPlayCount, ListeningEvent, FeedbackEvent):
        model.objects.all().delete()  # nothing left to learn from

    with pytest.raises(CommandError) as caught:
        call_command("retrain", "ncf", "--tiny", stdout=StringIO())

    assert "\n" not in str(caught.value)
    failed = RetrainRun.objects.order_by("-pk").first()
    assert failed is not None and failed.status == "failed" and failed.reason
    assert store.active_version("user_preference") == "0001"


def test_a_run_left_running_is_marked_killed_by_the_next(
    store: ModelStore, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    lost = RetrainRun.objects.create(
        name="user_preference", started_at=timezone.now() - timedelta(days=1)
    )

    call_command("retrain", "ncf", "--tiny", stdout=StringIO())

    lost.refresh_from_db()
    assert lost.status == "failed" and "did not finish" in lost.reason


def test_an_unknown_model_is_one_line(store: ModelStore) -> None:
    with pytest.raises(CommandError, match="unknown model 'nope'"):
        call_command("retrain", "nope", stdout=StringIO())
    assert not RetrainRun.objects.exists()


def test_the_migrations_seed_the_three_retrain_schedules() -> None:
    tasks = {t.name: t for t in PeriodicTask.objects.filter(task__endswith="model_retrain_task")}

    daily, weekly, monthly = (
        tasks["retrain user_preference (daily)"],
        tasks["retrain group (weekly)"],
        tasks["retrain content (monthly)"],
    )
    assert json.loads(daily.args) == ["user_preference"]
    assert (daily.crontab.hour, daily.crontab.day_of_week, daily.crontab.day_of_month) == (
        "3", "*", "*",
    )  # fmt: skip
    assert (weekly.crontab.day_of_week, json.loads(weekly.args)) == ("1", ["group"])
    assert (monthly.crontab.day_of_month, json.loads(monthly.args)) == ("1", ["content"])


def test_a_scheduled_retrain_skips_when_nothing_changed_and_runs_on_new_events(
    store: ModelStore, fixtures_dir: Path
) -> None:
    from recommender.models import Artist, ArtistPlayCount, User
    from recommender.services.retrain import model_retrain

    lastfm_import(directory=fixtures_dir / "lastfm-small")
    model_retrain(name="user_preference", tiny=True, trigger="schedule")

    skipped = model_retrain(name="user_preference", tiny=True, trigger="schedule")
    forced = model_retrain(name="user_preference", tiny=True, trigger="command")

    assert skipped.status == "skipped" and "no new events since version 0001" in skipped.reason
    assert forced.status == "succeeded" and forced.version == "0002"
    listener = User.objects.filter(artistplaycount__isnull=False).order_by("pk").first()
    artist = Artist.objects.exclude(play_counts__user=listener).order_by("pk").first()
    ArtistPlayCount.objects.create(user=listener, artist=artist, play_count=30)
    fresh = model_retrain(name="user_preference", tiny=True, trigger="schedule")
    assert fresh.status in ("succeeded", "held") and fresh.version == "0003"
