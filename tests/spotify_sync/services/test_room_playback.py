"""A room's queue drives its host's Spotify device, one track at a time."""

from __future__ import annotations

from typing import Any

import pytest

from groups.models import ListeningGroup
from recommender.models import Track
from spotify_sync.errors import SpotifyNoActiveDevice, SpotifyNotConnected
from spotify_sync.models import SpotifyConnection
from spotify_sync.services import room_playback_next, room_playback_pause, room_playback_start
from spotify_sync.services.playback import TrackNotOnSpotify
from tests.factories import TrackFactory
from tests.spotify_sync.fake_spotify import FakeDevice, FakeSpotify, FakeUser

pytestmark = pytest.mark.django_db

PLAY = "/v1/me/player/play"


@pytest.fixture
def tracks() -> list[Track]:
    return [TrackFactory(), TrackFactory()]


def test_the_host_device_plays_the_rooms_track(
    room: ListeningGroup,
    connected: SpotifyConnection,
    alice_spotify: FakeUser,
    fake_spotify: FakeSpotify,
    tracks: list[Track],
) -> None:
    playback = room_playback_start(group_id=room.pk, track_id=tracks[0].pk)

    laptop = alice_spotify.devices[0]
    assert playback.device_id == laptop.id and playback.device_name == "Alice's laptop"
    assert alice_spotify.playing_uri == f"spotify:track:{tracks[0].spotify_id}"
    assert alice_spotify.is_playing
    (request,) = fake_spotify.requests_to(PLAY)
    assert request.query == {"device_id": laptop.id}


def test_pause_then_next_starts_the_queues_next_track(
    room: ListeningGroup,
    connected: SpotifyConnection,
    alice_spotify: FakeUser,
    fake_spotify: FakeSpotify,
    tracks: list[Track],
) -> None:
    room_playback_start(group_id=room.pk, track_id=tracks[0].pk)

    assert room_playback_pause(group_id=room.pk).is_playing is False
    assert not alice_spotify.is_playing

    playback = room_playback_next(group_id=room.pk, next_track_id=tracks[1].pk)

    assert (
        playback.track_uri == alice_spotify.playing_uri == f"spotify:track:{tracks[1].spotify_id}"
    )
    # Spotify's own queue is never touched: "next" is a new start, not POST /me/player/next.
    assert fake_spotify.requests_to("/v1/me/player/next") == []
    assert fake_spotify.requests_to("/v1/me/player/queue") == []


def test_no_device_at_all_is_reported_to_the_host(
    room: ListeningGroup, connected: SpotifyConnection, alice_spotify: FakeUser, tracks: list[Track]
) -> None:
    alice_spotify.devices.clear()

    with pytest.raises(SpotifyNoActiveDevice) as caught:
        room_playback_start(group_id=room.pk, track_id=tracks[0].pk)

    assert "open Spotify on a phone, computer or speaker" in caught.value.message
    assert caught.value.as_dict()["code"] == "spotify_no_active_device"


def test_spotifys_no_active_device_answer_is_not_swallowed(
    room: ListeningGroup,
    connected: SpotifyConnection,
    fake_spotify: FakeSpotify,
    tracks: list[Track],
) -> None:
    # The device closed between the device list and the command.
    fake_spotify.fail(PLAY, 404, reason="NO_ACTIVE_DEVICE")

    with pytest.raises(SpotifyNoActiveDevice):
        room_playback_start(group_id=room.pk, track_id=tracks[0].pk)


def test_an_idle_device_is_woken_by_its_id(
    room: ListeningGroup, connected: SpotifyConnection, alice_spotify: FakeUser, tracks: list[Track]
) -> None:
    alice_spotify.devices = [FakeDevice("Kitchen speaker", type="Speaker", is_active=False)]

    playback = room_playback_start(group_id=room.pk, track_id=tracks[0].pk)

    assert playback.device_name == "Kitchen speaker" and alice_spotify.devices[0].is_active


def test_a_host_without_spotify_gets_a_clear_error(
    room: ListeningGroup, fake_spotify: FakeSpotify, tracks: list[Track]
) -> None:
    with pytest.raises(SpotifyNotConnected, match="host has not connected Spotify"):
        room_playback_start(group_id=room.pk, track_id=tracks[0].pk)


def test_a_track_without_a_spotify_id_cannot_play(
    room: ListeningGroup, connected: SpotifyConnection
) -> None:
    local = TrackFactory(spotify_id="local:0123456789abcdef")

    with pytest.raises(TrackNotOnSpotify):
        room_playback_start(group_id=room.pk, track_id=local.pk)


def test_a_members_spotify_does_not_drive_the_room(
    room: ListeningGroup, member: Any, fake_spotify: FakeSpotify, tracks: list[Track]
) -> None:
    from tests.spotify_sync.conftest import connect
    from tests.spotify_sync.fake_spotify import listener

    fake_spotify.add_user(listener("bob.spotify", plays=1))
    connect(member, fake_spotify)

    with pytest.raises(SpotifyNotConnected):
        room_playback_start(group_id=room.pk, track_id=tracks[0].pk)
