"""The room pages through Django's test client: create, join, the room, recap, QR code."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from groups.models import ListeningGroup, MemberLedger, Membership, QueueEntry, SessionPlaylist
from groups.services import playback, rooms
from recommender.models import Artist, ListenerProfile, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GUEST = {"display_name": "Dee", "seed_artists": "", "seed_genres": []}


def _client(user: User | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(name: str, room: ListeningGroup) -> str:
    return reverse(f"rooms:{name}", args=[room.code])


def _guests() -> int:
    return ListenerProfile.objects.filter(source=ListenerProfile.Source.GUEST).count()


def _state(html: str) -> dict:
    found = re.search(r'<script id="room-state" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_landing_page_offers_create_and_join(demo_data: None) -> None:
    response = _client().get(reverse("rooms:index"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="create-form"' in html and 'data-testid="find-form"' in html
    assert 'name="display_name"' in html  # a visitor enters a name before creating
    assert "Least misery: nobody hates it" in html  # policies with human labels
    assert 'aria-current="page">Rooms<' in html


def test_a_signed_in_listener_creates_a_room_and_hosts_it(
    hybrid_and_group: None, listeners: list[User]
) -> None:
    client = _client(listeners[0])

    response = client.post(
        reverse("rooms:new"),
        {"name": "Sunday chill", "policy": "least-misery", "max_members": 8, "allow_explicit": "",
         "add_cap": 5, "veto_budget": 0},
    )  # fmt: skip

    room = ListeningGroup.objects.get(name="Sunday chill")
    assert response.status_code == 302 and response["Location"] == _url("room", room)
    assert (room.policy, room.max_members, room.allow_explicit) == ("least-misery", 8, False)
    assert (room.add_cap, room.veto_budget) == (5, 0)
    assert Membership.objects.get(group=room, user=listeners[0]).role == Membership.Role.HOST
    page = client.get(_url("room", room))
    assert page.status_code == 200
    assert f'data-user-id="{listeners[0].pk}"' in page.content.decode()
    state = _state(page.content.decode())
    assert state["code"] == room.code and state["now_playing"] is not None


def test_a_visitor_creates_a_room_as_a_guest_and_lands_in_it(
    hybrid_and_group: None, listeners: list[User]
) -> None:
    client = _client()
    artist = Artist.objects.filter(tracks__isnull=False).order_by("pk").first()
    assert artist is not None

    response = client.post(
        reverse("rooms:new"),
        {**GUEST, "seed_artists": artist.name, "seed_genres": ["pop"], "name": "Dee's party",
         "policy": "learned", "max_members": 20, "allow_explicit": "on"},
    )  # fmt: skip

    room = ListeningGroup.objects.get(name="Dee's party")
    guest = User.objects.get(pk=client.session["_auth_user_id"])
    assert response["Location"] == _url("room", room)
    assert guest.display_name == "Dee" and guest.profile.source == ListenerProfile.Source.GUEST
    assert list(guest.profile.seed_artists.all()) == [artist]
    assert room.owner == guest
    assert client.get(_url("room", room)).status_code == 200


def test_a_guest_joins_by_code(live_room: ListeningGroup) -> None:
    client = _client()

    found = client.get(reverse("rooms:find"), {"code": live_room.code.lower()})
    page = client.get(found["Location"])
    joined = client.post(_url("join", live_room), {**GUEST, "seed_genres": ["rock"]})

    assert found.status_code == 302 and found["Location"] == _url("join", live_room)
    assert page.status_code == 200
    assert "Friday night" in page.content.decode()
    assert re.search(r'data-testid="member-count">3<', page.content.decode())
    assert joined.status_code == 302 and joined["Location"] == _url("room", live_room)
    guest = User.objects.get(pk=client.session["_auth_user_id"])
    assert Membership.objects.filter(group=live_room, user=guest).exists()
    assert client.get(_url("room", live_room)).status_code == 200


def test_a_signed_in_user_joins_as_themselves(live_room: ListeningGroup) -> None:
    outsider = UserFactory(display_name="Eve")
    client = _client(outsider)

    page = client.get(_url("join", live_room))
    joined = client.post(_url("join", live_room))

    assert "Join as Eve" in page.content.decode()
    assert joined["Location"] == _url("room", live_room)
    assert Membership.objects.filter(group=live_room, user=outsider).exists()


def test_an_unknown_code_is_a_field_error(live_room: ListeningGroup) -> None:
    missing = _client().get(reverse("rooms:find"), {"code": "ZZZZZZZZ"})
    malformed = _client().get(reverse("rooms:find"), {"code": "ab"})

    assert missing.status_code == 404
    assert "No room has the code ZZZZZZZZ" in missing.content.decode()
    assert malformed.status_code == 400
    assert 'data-testid="field-error-code"' in malformed.content.decode()


def test_non_members_are_sent_to_the_join_page(live_room: ListeningGroup) -> None:
    stranger = _client(UserFactory())

    for client in (stranger, _client()):
        for page in ("room", "tv"):
            response = client.get(_url(page, live_room))
            assert response.status_code == 302
            assert response["Location"] == _url("join", live_room)


def test_a_full_room_refuses_with_409_and_keeps_no_guest(live_room: ListeningGroup) -> None:
    ListeningGroup.objects.filter(pk=live_room.pk).update(max_members=3)
    before = _guests()

    response = _client().post(_url("join", live_room), GUEST)

    assert response.status_code == 409
    assert "This room is full (3 members)." in response.content.decode()
    assert _guests() == before


def test_a_locked_room_refuses_with_403(live_room: ListeningGroup, listeners: list[User]) -> None:
    rooms.room_lock(group=live_room, host=listeners[0], locked=True)

    page = _client().get(_url("join", live_room))
    response = _client(UserFactory()).post(_url("join", live_room))

    assert 'data-testid="notice"' in page.content.decode()
    assert response.status_code == 403
    assert "The host locked this room." in response.content.decode()


def test_a_removed_member_cannot_rejoin(live_room: ListeningGroup, listeners: list[User]) -> None:
    rooms.member_kick(group=live_room, host=listeners[0], user_id=listeners[2].pk)

    response = _client(listeners[2]).post(_url("join", live_room))

    assert response.status_code == 403
    assert "The host removed you from this room." in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "Dee", "seed_artists": "Nobody Anyone Knows"}, "seed_artists"),
        ({"display_name": "Dee", "seed_genres": ["polka"]}, "seed_genres"),
    ],
    ids=["no-name", "unknown-artist", "unknown-genre"],
)
def test_bad_guest_input_is_a_400_with_field_errors(
    live_room: ListeningGroup, data: dict[str, object], field: str
) -> None:
    before = _guests()

    response = _client().post(_url("join", live_room), data)

    assert response.status_code == 400
    assert f'data-testid="field-error-{field}"' in response.content.decode()
    assert _guests() == before


def test_a_bad_create_form_is_a_400(demo_data: None, listeners: list[User]) -> None:
    response = _client(listeners[0]).post(
        reverse("rooms:new"),
        {"name": "", "policy": "loudest", "max_members": 1, "add_cap": 0, "veto_budget": 99},
    )

    html = response.content.decode()
    assert response.status_code == 400
    for field in ("name", "policy", "max_members", "add_cap", "veto_budget"):
        assert f'data-testid="field-error-{field}"' in html
    assert not ListeningGroup.objects.filter(kind=ListeningGroup.Kind.ROOM).exists()


def _play_two(room: ListeningGroup) -> list[QueueEntry]:
    """The first track plays through, the second is skipped; the third is playing."""
    played = []
    for outcome in (QueueEntry.State.PLAYED, QueueEntry.State.SKIPPED):
        room.refresh_from_db()
        played.append(room.playing)
        playback.playback_advance(group=room, outcome=outcome)
    return [e for e in played if e is not None]


def test_the_recap_lists_what_played_and_who_it_suited(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    first, second = _play_two(live_room)
    rooms.room_leave(group=live_room, user=listeners[2])

    response = _client(listeners[2]).get(_url("recap", live_room))  # left, still welcome

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="recap-track"') == 3  # played, skipped, playing now
    assert html.index(first.track.name) < html.index(second.track.name)
    assert "skipped" in html and "playing now" in html
    assert html.count('data-testid="recap-member"') == 3
    assert MemberLedger.objects.filter(group=live_room, tracks_heard=2).count() == 3


def test_strangers_get_no_recap(live_room: ListeningGroup) -> None:
    assert _client(UserFactory()).get(_url("recap", live_room)).status_code == 404
    assert _client().get(_url("recap", live_room)).status_code == 404


def test_saving_the_session_as_a_playlist(live_room: ListeningGroup, listeners: list[User]) -> None:
    first, _skipped = _play_two(live_room)
    client = _client(listeners[1])

    response = client.post(_url("recap-save", live_room), {"name": "  Friday, kept  "})

    playlist = SessionPlaylist.objects.get(user=listeners[1])
    assert response.status_code == 302
    assert response["Location"] == f"{_url('recap', live_room)}?saved={playlist.pk}#saved"
    assert playlist.name == "Friday, kept"
    assert len(playlist.tracks) == 2  # the played one and the one playing; not the skip
    assert playlist.tracks[0] == {
        "spotify_id": first.track.spotify_id, "name": first.track.name,
        "artist": first.track.artist.name, "added_by": None,
    }  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert "Saved “Friday, kept” with 2 tracks." in page
    assert 'data-testid="playlists"' in page


def test_saving_needs_a_name(live_room: ListeningGroup, listeners: list[User]) -> None:
    response = _client(listeners[0]).post(_url("recap-save", live_room), {"name": " "})

    assert response.status_code == 400
    assert 'data-testid="field-error-name"' in response.content.decode()
    assert not SessionPlaylist.objects.exists()


def test_leaving_goes_to_the_recap(live_room: ListeningGroup, listeners: list[User]) -> None:
    response = _client(listeners[1]).post(_url("leave", live_room))

    assert response["Location"] == _url("recap", live_room)
    assert not Membership.objects.filter(group=live_room, user=listeners[1]).exists()


def test_the_tv_view_renders_for_members(live_room: ListeningGroup, listeners: list[User]) -> None:
    response = _client(listeners[1]).get(_url("tv", live_room))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-mode="tv"' in html and _url("qr", live_room) in html


def test_the_qr_code_is_an_svg_of_the_join_link(live_room: ListeningGroup) -> None:
    response = _client().get(_url("qr", live_room))

    svg = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<path" in svg and 'stroke="#0b0d12"' in svg
