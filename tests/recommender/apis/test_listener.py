"""The listener's endpoints: profile, preferences update, feedback."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from groups.models import ListeningGroup
from recommender.models import FeedbackEvent, Genre, ListenerProfile
from tests.factories import ArtistFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_profile_of_a_new_user(api_client: APIClient, user: Any) -> None:
    body = api_client.get("/api/v1/me").json()
    assert body["username"] == user.username
    assert body["seed_artists"] == [] and body["plays"] == 0
    assert body["allow_explicit"] is True


def test_preferences_update_sets_seeds_and_is_all_or_nothing(
    api_client: APIClient, user: Any
) -> None:
    ArtistFactory(name="Daft Punk")
    ArtistFactory(name="Muse")
    Genre.objects.create(name="rock")
    ok = api_client.post(
        "/api/v1/preferences/update",
        {"seed_artists": ["daft punk", "Muse"], "seed_genres": ["Rock"], "allow_explicit": False},
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["seed_artists"] == ["Daft Punk", "Muse"]
    assert ok.json()["seed_genres"] == ["rock"] and ok.json()["allow_explicit"] is False

    bad = api_client.post(
        "/api/v1/preferences/update",
        {"seed_artists": ["Muse", "Nobody At All"], "seed_genres": ["polka"]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_error"
    assert "seed_artists" in bad.json()["fields"]
    profile = ListenerProfile.objects.get(user=user)
    assert [a.name for a in profile.seed_artists.order_by("name")] == ["Daft Punk", "Muse"]

    wrong_type = api_client.post(
        "/api/v1/preferences/update", {"seed_artists": "Muse"}, format="json"
    )
    assert wrong_type.status_code == 400 and "seed_artists" in wrong_type.json()["fields"]


def test_feedback_is_recorded_and_validated(api_client: APIClient, user: Any) -> None:
    track = TrackFactory()
    liked = api_client.post(
        "/api/v1/feedback", {"track": track.spotify_id, "kind": "like"}, format="json"
    )
    assert liked.status_code == 201 and liked.json()["kind"] == "like"
    vote = api_client.post(
        "/api/v1/feedback", {"track": track.spotify_id, "kind": "vote", "value": -1}, format="json"
    )
    assert vote.status_code == 201 and vote.json()["value"] == -1
    assert FeedbackEvent.objects.filter(user=user).count() == 2

    cases = [
        ({"track": track.spotify_id, "kind": "love"}, "kind", 400),
        ({"track": track.spotify_id, "kind": "vote", "value": 0}, "value", 400),
        ({"track": track.spotify_id, "kind": "like", "value": -1}, "value", 400),
        ({"kind": "like"}, "track", 400),
    ]
    for payload, field, status in cases:
        response = api_client.post("/api/v1/feedback", payload, format="json")
        assert response.status_code == status and field in response.json()["fields"], payload
    missing = api_client.post(
        "/api/v1/feedback", {"track": "0" * 22, "kind": "like"}, format="json"
    )
    assert missing.status_code == 404
    assert FeedbackEvent.objects.count() == 2


def test_feedback_in_a_group_needs_membership(
    api_client: APIClient, user: Any, room: ListeningGroup
) -> None:
    track = TrackFactory()
    response = api_client.post(
        "/api/v1/feedback",
        {"track": track.spotify_id, "kind": "like", "group": room.pk},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not FeedbackEvent.objects.exists()
    gone = api_client.post(
        "/api/v1/feedback",
        {"track": track.spotify_id, "kind": "like", "group": 99999},
        format="json",
    )
    assert gone.status_code == 404


def test_anonymous_clients_are_refused(anonymous_client: APIClient) -> None:
    for method, url in (
        ("get", "/api/v1/me"),
        ("post", "/api/v1/feedback"),
        ("post", "/api/v1/preferences/update"),
    ):
        assert getattr(anonymous_client, method)(url).status_code in (401, 403)
