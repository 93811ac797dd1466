"""``manage.py train content`` on the database: predictions, similarity, cold start, admin."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ml.artifacts import ModelStore
from ml.content.estimator import ContentRecommender
from ml.content.index import Filters
from recommender.models import (
    Artist,
    AudioFeatures,
    ModelVersion,
    Tag,
    Track,
    TrackMood,
    TrackPrediction,
)
from recommender.selectors_content import (
    ModelNotReady,
    content_interactions_build,
    mood_set_build,
    similar_tracks,
    track_table_build,
    tracks_for_seeds,
)
from recommender.services.content import content_train
from recommender.services.imports import lastfm_import, moods_import, tracks_import
from recommender.services.training import TrainingFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> ModelStore:
    settings.ML_STORE_DIR = tmp_path / "models"
    return ModelStore(settings.ML_STORE_DIR)


@pytest.fixture
def imported(fixtures_dir: Path) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    moods_import(path=fixtures_dir / "data_moods_small.csv")


@pytest.fixture
def trained(store: ModelStore, imported: None) -> ModelVersion:
    return content_train(tiny=True)


def test_database_tables_match_the_file_tables(imported: None, fixtures_dir: Path) -> None:
    from ml.content.features import load_catalogue

    table = track_table_build()
    files = load_catalogue(fixtures_dir / "catalogue_small.csv")
    from_csv = set(files.track_ids.tolist())
    assert from_csv <= set(table.track_ids.tolist())  # the mood import adds its own tracks
    row = {t: k for k, t in enumerate(table.track_ids.tolist())}
    k_files = 0
    k_db = row[str(files.track_ids[k_files])]
    assert np.allclose(table.features[k_db], files.features[k_files], atol=1e-4)
    assert table.genres[k_db] == files.genres[k_files]
    moods = mood_set_build()
    assert moods is not None and len(moods.labels) == 14
    data = content_interactions_build()
    assert (data.extras["item_name_keys"] != "").all()


def test_train_content_publishes_activates_and_stores_predictions(
    trained: ModelVersion, store: ModelStore
) -> None:
    assert (trained.name, trained.status) == ("content", ModelVersion.Status.ACTIVE)
    assert store.active_version("content") == trained.version
    assert trained.metrics["ndcg"] is not None and 0.0 <= trained.metrics["ndcg"] <= 1.0
    manifest = store.manifest("content", trained.version)
    assert manifest["extra"]["validation"]["protocol"] == "cold-start"
    n_tracks = Track.objects.filter(audio_features__isnull=False).count()
    assert TrackPrediction.objects.count() == n_tracks
    genres = set(TrackPrediction.objects.values_list("genre", flat=True))
    assert genres <= {"edm", "latin", "pop", "r&b", "rap", "rock"}
    assert TrackMood.objects.filter(source=TrackMood.Source.MODEL).count() == n_tracks
    labels = TrackMood.objects.filter(source=TrackMood.Source.LABEL).count()
    assert labels == 14  # curated labels are never overwritten
    probabilities = TrackMood.objects.values_list("probability", flat=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    loaded = store.load("content")
    assert isinstance(loaded, ContentRecommender)
    assert loaded.mood_detector().predict_proba(
        loaded.network_.standardizer.mean[None, :]
    ).shape == (1, 4)


def test_retraining_replaces_predictions_instead_of_adding(trained: ModelVersion) -> None:
    before = TrackPrediction.objects.count()
    again = content_train(tiny=True)
    assert again.version != trained.version
    assert TrackPrediction.objects.count() == before
    assert set(TrackPrediction.objects.values_list("model_version", flat=True)) == {again.version}


def test_similar_tracks_and_a_new_track_is_recommendable_at_once(trained: ModelVersion) -> None:
    track = Track.objects.filter(audio_features__isnull=False).order_by("pk").first()
    assert track is not None
    found = similar_tracks(track=track, n=5)
    assert len(found) == 5 and track not in [t for t, _ in found]
    rock = similar_tracks(track=track, n=3, filters=Filters(genre="rock"))
    assert all(t.genres.filter(name="rock").exists() for t, _ in rock)

    # a track added after training, a twin of ``track`` by its audio features
    twin = Track.objects.create(spotify_id="0" * 22, name="Twin", artist=track.artist)
    features = AudioFeatures.objects.get(track=track)
    features.pk = None
    features.track = twin
    features.save()
    twin.popularity, twin.duration_ms, twin.release_year = (
        track.popularity,
        track.duration_ms,
        track.release_year,
    )
    twin.save()
    from recommender import selectors_content

    selectors_content._overlays.clear()
    near_twin = similar_tracks(track=twin, n=3)
    assert len(near_twin) == 3
    near_track = [t for t, _ in similar_tracks(track=track, n=3)]
    assert twin in near_track


def test_tracks_for_seeds_from_artists_tags_genre_and_mood(trained: ModelVersion) -> None:
    artists = list(
        Artist.objects.filter(lastfm_id__isnull=False, tracks__isnull=False).distinct()[:3]
    )
    assert artists
    picks = tracks_for_seeds(artists=artists, n=10)
    assert 0 < len(picks) <= 10
    scores = [s for _, s in picks]
    assert scores == sorted(scores, reverse=True)
    per_artist: dict[int, int] = {}
    for t, _ in picks:
        per_artist[t.artist_id] = per_artist.get(t.artist_id, 0) + 1
    assert max(per_artist.values()) <= 2
    tag = Tag.objects.filter(artisttag__isnull=False).first() or Tag.objects.first()
    assert tag is not None
    assert tracks_for_seeds(tags=[tag], n=5)
    rock = tracks_for_seeds(genre="rock", n=5)
    assert rock and all(t.genres.filter(name="rock").exists() for t, _ in rock)
    mood = str(
        TrackMood.objects.filter(source=TrackMood.Source.MODEL)
        .values_list("mood", flat=True)
        .first()
    )
    happy = tracks_for_seeds(mood=mood, n=5)
    assert happy


def test_serving_before_training_is_a_clear_error(store: ModelStore, imported: None) -> None:
    track = Track.objects.first()
    assert track is not None
    with pytest.raises(ModelNotReady, match=r"manage\.py train content"):
        similar_tracks(track=track, n=3)


def test_training_without_a_catalogue_fails_in_one_line(
    store: ModelStore, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    with pytest.raises(TrainingFailed, match="import the catalogue"):
        content_train(tiny=True)
    assert not ModelVersion.objects.exists()


def test_train_command_trains_content(store: ModelStore, imported: None) -> None:
    out = StringIO()
    call_command("train", "content", "--tiny", "--no-progress", stdout=out)
    assert out.getvalue().startswith("content: version 0001 is active (")


def test_admin_track_page_shows_predicted_genre_mood_and_nearest_tracks(
    trained: ModelVersion, admin_client: Client
) -> None:
    track = Track.objects.filter(prediction__isnull=False).order_by("pk").first()
    assert track is not None
    response = admin_client.get(reverse("admin:recommender_track_change", args=[track.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    prediction = TrackPrediction.objects.get(track=track)
    mood = TrackMood.objects.get(track=track, source=TrackMood.Source.MODEL)
    assert "Content model" in page
    assert prediction.genre in page and mood.get_mood_display() in page
    assert page.count('<li><a href="/admin/recommender/track/') == 8


def test_predictions_follow_the_active_version_on_rollback(trained: ModelVersion) -> None:
    from recommender.services.model_versions import model_version_rollback

    second = content_train(tiny=True)
    assert set(TrackPrediction.objects.values_list("model_version", flat=True)) == {second.version}
    model_version_rollback(name="content")
    assert set(TrackPrediction.objects.values_list("model_version", flat=True)) == {trained.version}
    assert TrackMood.objects.filter(source=TrackMood.Source.MODEL).count() == (
        TrackPrediction.objects.count()
    )
