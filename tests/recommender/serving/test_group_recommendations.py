"""GET /api/v1/recommendations/group and /api/v1/compatibility/score: members only."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from groups.models import ListeningGroup, Membership
from recommender.models import User

URL = "/api/v1/recommendations/group"


@pytest.fixture
def band(demo_data: None) -> tuple[ListeningGroup, list[User]]:
    """A group of three Last.fm listeners."""
    people = list(User.objects.filter(profile__lastfm_user_id__isnull=False).order_by("pk")[:3])
    group = ListeningGroup.objects.create(name="Band", owner=people[0])
    for person in people:
        Membership.objects.create(group=group, user=person)
    return group, people


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_member_gets_tracks_with_member_attribution(
    hybrid_and_group: None, band: tuple[ListeningGroup, list[User]]
) -> None:
    group, people = band

    response = _client(people[1]).get(URL, {"group": group.pk, "n": 4})

    assert response.status_code == 200
    body = response.json()
    assert body["policy"] == "learned"
    assert len(body["results"]) == 4
    first = body["results"][0]
    assert [m["user"] for m in first["members"]] == [p.display_name or p.username for p in people]
    assert {m["feeling"] for m in first["members"]} <= {"fits", "neutral", "not for"}
    assert first["explanation"]
    assert set(body["satisfaction"]) == {p.display_name or p.username for p in people}
    again = _client(people[0]).get(URL, {"group": group.pk, "n": 4}).json()
    assert again["cached"] is True


@pytest.mark.parametrize("policy", ["average", "least-misery", "fairness"])
def test_fixed_policies(
    hybrid_and_group: None, band: tuple[ListeningGroup, list[User]], policy: str
) -> None:
    group, people = band

    response = _client(people[0]).get(URL, {"group": group.pk, "n": 3, "policy": policy})

    assert response.status_code == 200
    assert response.json()["policy"] == policy
    assert len(response.json()["results"]) == 3


def test_an_outsider_gets_403_and_an_unknown_group_404(
    demo_data: None, band: tuple[ListeningGroup, list[User]], outsider: User
) -> None:
    group, _ = band

    forbidden = _client(outsider).get(URL, {"group": group.pk})
    missing = _client(outsider).get(URL, {"group": group.pk + 1000})

    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "permission_denied"
    assert missing.status_code == 404
    assert set(missing.json()) >= {"code", "message"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "group"), ({"group": "x"}, "group"), ({"group": 1, "policy": "loudest"}, "policy")],
)
def test_bad_parameters_are_field_errors(
    api_client: APIClient, params: dict[str, Any], field: str
) -> None:
    response = api_client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_compatibility_with_a_listener_and_with_a_group(
    hybrid_and_group: None, band: tuple[ListeningGroup, list[User]], outsider: User
) -> None:
    group, people = band
    client = _client(people[0])

    pair = client.get("/api/v1/compatibility/score", {"other": people[1].username})
    with_group = client.get("/api/v1/compatibility/score", {"group": group.pk})
    outside = _client(outsider).get("/api/v1/compatibility/score", {"group": group.pk})

    assert pair.status_code == 200
    assert 0 <= pair.json()["score"] <= 100
    assert pair.json()["reasons"]
    assert with_group.status_code == 200
    assert outside.status_code == 403


@pytest.mark.parametrize("params", [{}, {"other": "a", "group": 1}, {"other": "nobody-here"}])
def test_compatibility_needs_exactly_one_known_target(
    api_client: APIClient, params: dict[str, Any]
) -> None:
    response = api_client.get("/api/v1/compatibility/score", params)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"]


def test_joining_leaving_renaming_and_playing_take_effect_at_the_next_request(
    hybrid_and_group: None, band: tuple[ListeningGroup, list[User]], outsider: User
) -> None:
    from recommender.models import Track
    from recommender.services.listeners import feedback_record

    group, people = band
    assert _client(outsider).get(URL, {"group": group.pk}).status_code == 403

    Membership.objects.create(group=group, user=outsider)
    joined = _client(outsider).get(URL, {"group": group.pk, "n": 5})
    assert joined.status_code == 200
    assert len(joined.json()["results"][0]["members"]) == 4

    people[1].display_name = "Renamed"
    people[1].save()
    renamed = _client(outsider).get(URL, {"group": group.pk, "n": 5}).json()
    assert renamed["cached"] is False
    assert "Renamed" in renamed["satisfaction"]

    top = renamed["results"][0]["track"]
    track = Track.objects.get(spotify_id=top["spotify_id"])
    feedback_record(user=people[0], track=track, kind="play", group=group)
    after = _client(outsider).get(URL, {"group": group.pk, "n": 5}).json()
    assert top["artist"] not in [r["track"]["artist"] for r in after["results"]]

    Membership.objects.filter(group=group, user=outsider).delete()
    assert _client(outsider).get(URL, {"group": group.pk}).status_code == 403
