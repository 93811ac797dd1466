"""``compatibility_score``: the active group model, imported listeners and new sign-ups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from groups.models import ListeningGroup, Membership
from groups.services.compatibility import (
    CompatibilityInvalid,
    ModelNotReady,
    compatibility_score,
)
from ml.artifacts import ModelStore
from ml.data.interactions import load
from ml.group.estimator import GroupRecommender
from ml.group.text import attach_names
from recommender.models import Artist, ArtistPlayCount, User
from recommender.services.imports import lastfm_import
from tests.factories import ListeningGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> ModelStore:
    settings.ML_STORE_DIR = tmp_path / "models"
    return ModelStore(settings.ML_STORE_DIR)


@pytest.fixture
def imported(fixtures_dir: Path) -> Path:
    folder = fixtures_dir / "lastfm-small"
    lastfm_import(directory=folder)
    return folder


@pytest.fixture
def trained(store: ModelStore, imported: Path) -> GroupRecommender:
    """A tiny group model fitted on the same files and published as the active version."""
    data = attach_names(load(imported), imported)
    model = GroupRecommender.tiny().fit(data)
    store.publish(
        model, name="group", metrics={}, command="pytest", data_fingerprint=data.fingerprint()
    )
    return model


def _listener(lastfm_id: int) -> User:
    return User.objects.get(profile__lastfm_user_id=lastfm_id)


def _copycat(of: User) -> User:
    """A new sign-up whose plays copy ``of``'s: the same taste, unknown to the model."""
    user = UserFactory(username=f"copy-of-{of.pk}")
    for row in ArtistPlayCount.objects.filter(user=of):
        ArtistPlayCount.objects.create(user=user, artist=row.artist, play_count=row.play_count)
    return user


def test_the_same_taste_scores_higher_than_a_different_one(trained: GroupRecommender) -> None:
    alice = _listener(3)
    twin, other = _copycat(alice), _listener(4)

    same = compatibility_score(user=alice, other=twin)
    different = compatibility_score(user=alice, other=other)

    assert 0 <= different["score"] < same["score"] <= 100
    assert same["shared_artists"] and same["reasons"][0].startswith("Taste match ")
    assert all(isinstance(r, str) and r for r in same["reasons"] + different["reasons"])
    assert str(alice) in same["reasons"][1]
    assert same["model_version"] == "0001"
    assert set(same["similarities"]) == {"taste", "tags", "artists", "preferences"}


def test_a_listener_against_a_room(trained: GroupRecommender) -> None:
    room = ListeningGroupFactory(name="Friday", kind=ListeningGroup.Kind.ROOM)
    for lastfm_id in (4, 99, 124):
        Membership.objects.create(group=room, user=_listener(lastfm_id))

    result = compatibility_score(user=_listener(211), group=room)

    assert result["reasons"][0].startswith("Group match ")
    assert "across 3 member(s)" in result["reasons"][0]


def test_bad_requests_fail_with_one_clear_error(trained: GroupRecommender) -> None:
    alice = _listener(3)
    silent = UserFactory(username="silent")

    with pytest.raises(CompatibilityInvalid, match="exactly one"):
        compatibility_score(user=alice)
    with pytest.raises(CompatibilityInvalid, match="two different"):
        compatibility_score(user=alice, other=alice)
    with pytest.raises(CompatibilityInvalid, match="no listening history"):
        compatibility_score(user=alice, other=silent)
    empty = ListeningGroupFactory(name="Empty")
    Membership.objects.create(group=empty, user=alice)
    with pytest.raises(CompatibilityInvalid, match="no other member"):
        compatibility_score(user=alice, group=empty)
    assert Artist.objects.exists()


def test_without_a_trained_model_the_answer_is_model_not_ready(
    store: ModelStore, imported: Path
) -> None:
    with pytest.raises(ModelNotReady, match=r"manage\.py train group") as caught:
        compatibility_score(user=_listener(3), other=_listener(4))

    assert caught.value.code == "model_not_ready" and caught.value.http_status == 503
