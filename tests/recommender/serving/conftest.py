"""A database with the small fixture catalogue and Last.fm sample, and tiny trained models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import Count
from rest_framework.test import APIClient

from recommender.models import Track, User
from recommender.services.hybrid import hybrid_train
from recommender.services.imports.lastfm import lastfm_import
from recommender.services.imports.moods import moods_import
from recommender.services.imports.tracks import tracks_import
from recommender.services.training import model_train
from recommender.serving.hybrid import serving_caches_clear


@pytest.fixture(autouse=True)
def _fresh_serving_caches() -> Iterator[None]:
    cache.clear()
    serving_caches_clear()
    yield
    cache.clear()
    serving_caches_clear()


@pytest.fixture
def demo_data(db: Any, fixtures_dir: Path) -> None:
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    moods_import(path=fixtures_dir / "data_moods_small.csv")


@pytest.fixture(scope="session")
def _trained_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"base": tmp_path_factory.mktemp("serving-models")}


def _store(settings: Any, trained: dict[str, Path], key: str, train: Any) -> None:
    """Train once per session into a shared store: the imported ids are the same every test
    (Last.fm ids and Spotify ids), so the models fit every test's fresh database."""
    if key not in trained:
        folder = trained["base"] / key
        settings.ML_STORE_DIR = folder
        train()
        trained[key] = folder
    settings.ML_STORE_DIR = trained[key]


@pytest.fixture
def hybrid(demo_data: None, settings: Any, _trained_store: dict[str, Path]) -> None:
    _store(settings, _trained_store, "hybrid", lambda: hybrid_train(tiny=True))


@pytest.fixture
def hybrid_and_group(demo_data: None, settings: Any, _trained_store: dict[str, Path]) -> None:
    def train() -> None:
        hybrid_train(tiny=True)
        model_train(name="group", tiny=True)

    _store(settings, _trained_store, "both", train)


@pytest.fixture
def listener(demo_data: None) -> User:
    """The Last.fm listener with the most plays of catalogue artists (tracks to serve)."""
    found = (
        User.objects.filter(profile__lastfm_user_id__isnull=False)
        .filter(artistplaycount__artist__tracks__isnull=False)
        .annotate(n=Count("artistplaycount", distinct=True))
        .order_by("-n", "pk")
        .first()
    )
    assert found is not None
    return found


@pytest.fixture
def listener_client(listener: User) -> APIClient:
    """Token authentication, as the mobile clients use: the user (and their
    ``recs_generation``) is read from the database on every request."""
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=listener).key}")
    return client


def servable_tracks() -> int:
    return Track.objects.filter(artist__lastfm_id__isnull=False).count()
