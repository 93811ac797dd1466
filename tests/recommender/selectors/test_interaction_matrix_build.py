"""The database and the files give the models the same data (both paths train the same code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groups.models import Friendship
from ml.data.interactions import Interactions, load_hetrec
from recommender.models import ArtistPlayCount, Tag, UserTagAssignment
from recommender.selectors_ml import interaction_matrix_build
from recommender.services.imports import lastfm_import
from tests.factories import ArtistFactory, UserFactory

pytestmark = pytest.mark.django_db


def _assert_same(db: Interactions, files: Interactions) -> None:
    assert db.user_ids.dtype == files.user_ids.dtype == np.int64
    np.testing.assert_array_equal(db.user_ids, files.user_ids)
    np.testing.assert_array_equal(db.item_ids, files.item_ids)
    assert db.matrix.dtype == files.matrix.dtype and db.matrix.shape == files.matrix.shape
    assert (db.matrix != files.matrix).nnz == 0
    assert db.item_features is not None and files.item_features is not None
    np.testing.assert_array_equal(db.feature_names, files.feature_names)
    assert db.item_features.shape == files.item_features.shape
    assert (db.item_features != files.item_features).nnz == 0
    np.testing.assert_array_equal(db.friends, files.friends)
    assert db.fingerprint() == files.fingerprint()


def test_the_imported_fixture_builds_what_the_file_loader_builds(fixtures_dir: Path) -> None:
    folder = fixtures_dir / "lastfm-small"
    lastfm_import(directory=folder)

    db = interaction_matrix_build()

    files = load_hetrec(folder)
    _assert_same(db, files)
    assert (db.n_users, db.n_items, db.matrix.nnz) == (6, 251, 300)
    assert db.item_features is not None and db.item_features.shape == (251, 79)
    assert db.friends is not None and len(db.friends) == 24


def test_an_empty_database_gives_an_empty_matrix() -> None:
    data = interaction_matrix_build()

    assert data.matrix.shape == (0, 0) and data.matrix.nnz == 0
    assert data.item_features is not None and data.item_features.shape == (0, 0)
    assert data.friends is not None and data.friends.shape == (0, 2)


def test_rows_without_a_lastfm_id_use_the_negated_primary_key() -> None:
    signup = UserFactory()  # a profile without lastfm_user_id
    listener = UserFactory(profile__lastfm_user_id=5)
    catalogue_only = ArtistFactory(lastfm_id=None)
    lastfm_artist = ArtistFactory(lastfm_id=7)
    ArtistPlayCount.objects.create(user=signup, artist=catalogue_only, play_count=3)
    ArtistPlayCount.objects.create(user=listener, artist=lastfm_artist, play_count=9)
    app_tag = Tag.objects.create(name="sunday morning")
    UserTagAssignment.objects.create(user=signup, artist=lastfm_artist, tag=app_tag)
    UserTagAssignment.objects.create(user=listener, artist=lastfm_artist, tag=app_tag)
    Friendship.objects.create(
        user_low=min(signup, listener, key=lambda u: u.pk),
        user_high=max(signup, listener, key=lambda u: u.pk),
    )

    data = interaction_matrix_build()

    assert data.user_ids.tolist() == [-signup.pk, 5]
    assert data.item_ids.tolist() == [-catalogue_only.pk, 7]
    assert data.matrix.toarray().tolist() == [[3.0, 0.0], [0.0, 9.0]]
    assert data.feature_names is not None and data.feature_names.tolist() == [-app_tag.pk]
    assert data.item_features is not None
    assert data.item_features.toarray().tolist() == [[0.0], [2.0]]
    assert data.friends is not None and data.friends.tolist() == [[-signup.pk, 5]]
