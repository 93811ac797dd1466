"""The batch precompute task fills the result cache for active listeners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from recommender.models import FeedbackEvent, Track, User
from recommender.serving.precompute import active_listener_ids
from recommender.tasks import recommendations_precompute_active


def test_active_listeners_are_precomputed_and_served_from_the_cache(
    hybrid: None, listener: User, listener_client: APIClient
) -> None:
    track = Track.objects.order_by("pk").first()
    assert track is not None
    FeedbackEvent.objects.create(user=listener, track=track, kind="play")

    done = recommendations_precompute_active.delay(days=1).get()

    assert active_listener_ids(days=1) == [listener.pk]
    assert done == 1
    response = listener_client.get("/api/v1/recommendations/user")
    assert response.json()["cached"] is True


def test_without_a_model_nothing_is_done(listener: User, settings: Any, tmp_path: Path) -> None:
    settings.ML_STORE_DIR = tmp_path / "empty-store"
    FeedbackEvent.objects.create(
        user=listener, track=Track.objects.order_by("pk").first(), kind="play"
    )

    assert recommendations_precompute_active.delay(days=1).get() == 0
