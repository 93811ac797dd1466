"""Rooms over the small fixture catalogue, with tiny trained hybrid and group models."""

from __future__ import annotations

from typing import Any

import pytest

from groups.models import ListeningGroup
from groups.services.rooms import room_create, room_join
from recommender.models import User
from tests.recommender.serving import conftest as serving

# The serving tests' fixtures: the small catalogue and tiny trained models.
_fresh_serving_caches = serving._fresh_serving_caches
_trained_store = serving._trained_store
demo_data = serving.demo_data
hybrid_and_group = serving.hybrid_and_group


@pytest.fixture
def listeners(demo_data: None) -> list[User]:
    """Three Last.fm listeners (histories the models know)."""
    return list(User.objects.filter(profile__lastfm_user_id__isnull=False).order_by("pk")[:3])


@pytest.fixture
def live_room(hybrid_and_group: None, listeners: list[User]) -> ListeningGroup:
    """A room hosted by the first listener, the other two joined."""
    room = room_create(owner=listeners[0], name="Friday night")
    for person in listeners[1:]:
        room_join(group=room, user=person)
    room.refresh_from_db()
    return room


def fields(error: Any) -> dict[str, Any]:
    return dict(error.extra.get("fields", {}))
