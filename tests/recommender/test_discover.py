"""The cold-start page: a few picks in, content-based tracks out; bad picks get field errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from recommender.models import Artist
from recommender.services.content import content_train
from recommender.services.imports import lastfm_import, moods_import, tracks_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(settings: Any, tmp_path: Path, fixtures_dir: Path) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    content_train(tiny=True)


def test_empty_form_renders_with_genre_choices(client: Client, trained: None) -> None:
    response = client.get(reverse("discover"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="seed-form"' in page and '<option value="rock">rock</option>' in page
    assert 'data-testid="recommendations"' not in page


def test_three_seed_artists_give_tracks_at_once(client: Client, trained: None) -> None:
    names = list(
        Artist.objects.filter(lastfm_id__isnull=False, tracks__isnull=False)
        .distinct()
        .values_list("name", flat=True)[:3]
    )
    response = client.get(reverse("discover"), {"artists": ", ".join(names)})
    assert response.status_code == 200
    assert len(response.context["tracks"]) > 0
    assert 'data-testid="recommendations"' in response.content.decode()


def test_genre_and_mood_alone_are_enough(client: Client, trained: None) -> None:
    response = client.get(reverse("discover"), {"genre": "rock", "mood": ""})
    assert response.status_code == 200
    tracks = response.context["tracks"]
    assert tracks and all(t.genres.filter(name="rock").exists() for t, _ in tracks)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"artists": "No Such Band Anywhere"}, "artists", "Not in the catalogue: No Such Band"),
        ({"tags": "nosuchtag123"}, "tags", "Unknown tags: nosuchtag123"),
        ({"genre": "polka"}, "genre", "Select a valid choice"),
        ({"artists": ",".join(f"a{k}" for k in range(11))}, "artists", "at most 10"),
        ({"artists": "", "tags": ""}, "__all__", "Pick at least one"),
    ],
)
def test_bad_picks_are_400_with_field_errors(
    client: Client, trained: None, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get(reverse("discover"), params)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])


def test_before_training_the_page_says_what_to_do(
    client: Client, settings: Any, tmp_path: Path, fixtures_dir: Path
) -> None:
    settings.ML_STORE_DIR = tmp_path / "empty"
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    response = client.get(reverse("discover"), {"genre": "rock"})
    assert response.status_code == 200
    assert "manage.py train content" in response.content.decode()
