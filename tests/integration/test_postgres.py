"""Run when the suite runs on PostgreSQL (scripts/test's second pass sets DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from recommender.models import ArtistPlayCount, Track
from recommender.services.imports import lastfm_import, tracks_import
from tests.factories import TrackFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert int(cursor.fetchone()[0].split(".")[0]) >= 13


def test_check_constraints_are_enforced_by_the_server() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TrackFactory(popularity=150)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'audio\\_%%' AND contype = 'c'"
        )
        assert cursor.fetchone()[0] >= 10


def test_imports_are_idempotent_upserts_on_postgres(fixtures_dir: Path) -> None:
    tracks_import(path=fixtures_dir / "spotify_songs_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    counts = (Track.objects.count(), ArtistPlayCount.objects.count())

    tracks_import(path=fixtures_dir / "spotify_songs_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")

    assert (Track.objects.count(), ArtistPlayCount.objects.count()) == counts
