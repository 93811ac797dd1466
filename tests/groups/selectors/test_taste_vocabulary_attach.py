"""The group model reads the same names from the database as from the HetRec files."""

from __future__ import annotations

from pathlib import Path

import pytest

from groups.selectors import listener_history, listener_raw_id, taste_vocabulary_attach
from ml.data.interactions import load_hetrec
from ml.group.text import FEATURE_LABELS, ITEM_GENRES, ITEM_NAMES, attach_names
from recommender.models import Artist, Genre, TrackGenre, User
from recommender.selectors_ml import interaction_matrix_build
from recommender.services.imports import lastfm_import
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_names_match_the_file_loader_and_genres_come_from_tracks(fixtures_dir: Path) -> None:
    folder = fixtures_dir / "lastfm-small"
    lastfm_import(directory=folder)
    files = attach_names(load_hetrec(folder), folder)
    artist = Artist.objects.get(lastfm_id=int(files.item_ids[0]))
    track = TrackFactory(artist=artist)
    TrackGenre.objects.create(track=track, genre=Genre.objects.create(name="synthpop"))

    db = taste_vocabulary_attach(data=interaction_matrix_build())

    assert db.extras[ITEM_NAMES].tolist() == files.extras[ITEM_NAMES].tolist()
    assert db.extras[FEATURE_LABELS].tolist() == files.extras[FEATURE_LABELS].tolist()
    assert db.extras[ITEM_GENRES][0] == "synthpop"
    assert set(db.extras[ITEM_GENRES][1:].tolist()) == {""}


def test_raw_ids_and_histories(fixtures_dir: Path) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    imported = User.objects.get(profile__lastfm_user_id=3)
    newcomer = UserFactory(username="newcomer")

    assert listener_raw_id(user=imported) == 3
    assert listener_raw_id(user=newcomer) == -newcomer.pk
    assert len(listener_history(user=imported)) == 50
    assert listener_history(user=newcomer) == {}
