"""Track search, detail and similar-track endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from recommender.models import Track, TrackPrediction
from recommender.services.content import content_train
from recommender.services.imports import lastfm_import, moods_import, tracks_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(fixtures_dir: Path) -> None:
    tracks_import(path=fixtures_dir / "catalogue_small.csv")


@pytest.fixture
def trained(settings: Any, tmp_path: Path, fixtures_dir: Path, catalogue: None) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    content_train(tiny=True)


def test_search_needs_a_signed_in_user(anonymous_client: APIClient, catalogue: None) -> None:
    response = anonymous_client.get("/api/v1/tracks", {"q": "a"})
    assert response.status_code in (401, 403)


def test_search_by_artist_is_paginated_and_ordered_by_popularity(
    api_client: APIClient, catalogue: None
) -> None:
    track = Track.objects.exclude(popularity=None).order_by("-popularity").first()
    assert track is not None
    response = api_client.get("/api/v1/tracks", {"q": track.artist.name, "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 1 and len(body["results"]) <= 5
    assert body["results"][0]["artist"] == track.artist.name
    popularity = [r["popularity"] for r in body["results"]]
    assert popularity == sorted(popularity, reverse=True)


def test_genre_filter_and_bad_filters(api_client: APIClient, catalogue: None) -> None:
    rock = api_client.get("/api/v1/tracks", {"genre": "rock"}).json()
    assert rock["count"] == Track.objects.filter(genres__name="rock").distinct().count()
    bad = api_client.get("/api/v1/tracks", {"mood": "furious", "q": "x" * 201})
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_error"
    assert set(bad.json()["fields"]) == {"mood", "q"}


def test_detail_shows_features_genres_and_predictions(api_client: APIClient, trained: None) -> None:
    prediction = TrackPrediction.objects.select_related("track").first()
    assert prediction is not None
    response = api_client.get(f"/api/v1/tracks/{prediction.track.spotify_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["predicted_genre"] == prediction.genre
    assert body["audio_features"]["tempo"] > 0
    assert {m["source"] for m in body["moods"]} >= {"model"}
    assert api_client.get("/api/v1/tracks/doesnotexist").status_code == 404


def test_similar_tracks_with_filters(api_client: APIClient, trained: None) -> None:
    track = Track.objects.filter(audio_features__isnull=False).order_by("pk").first()
    assert track is not None
    url = f"/api/v1/tracks/{track.spotify_id}/similar"
    body = api_client.get(url, {"n": 4}).json()
    assert len(body) == 4 and track.spotify_id not in {b["spotify_id"] for b in body}
    sims = [b["similarity"] for b in body]
    assert sims == sorted(sims, reverse=True)
    other = api_client.get(url, {"n": 5, "exclude_same_artist": "true", "tempo_min": 90}).json()
    assert all(b["artist"] != track.artist.name for b in other)
    bad = api_client.get(url, {"n": 0, "tempo_min": 150, "tempo_max": 100})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"n"}
    reversed_range = api_client.get(url, {"tempo_min": 150, "tempo_max": 100})
    assert reversed_range.status_code == 400 and "tempo_max" in reversed_range.json()["fields"]


def test_similar_before_training_is_503_with_a_clear_message(
    api_client: APIClient, catalogue: None, settings: Any, tmp_path: Path
) -> None:
    settings.ML_STORE_DIR = tmp_path / "none"
    track = Track.objects.first()
    assert track is not None
    response = api_client.get(f"/api/v1/tracks/{track.spotify_id}/similar")
    assert response.status_code == 503
    assert response.json()["code"] == "model_not_ready"
