"""A room's queue drives its host's Spotify device: start, pause, next, one track at a time.

The Web API can add to a Spotify queue but cannot reorder or remove from it, so rooms never use
Spotify's queue: "next" starts the room queue's next track by itself. Playback needs the host to
have connected Spotify (Premium) and to have a Spotify app open; "no active device" reaches the
host as ``SpotifyNoActiveDevice`` with what to do, never swallowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audotics.errors import ApplicationError, NotFound
from groups.models import ListeningGroup, Membership
from recommender.models import Track
from spotify_sync.client import SpotifyApi
from spotify_sync.errors import SpotifyNoActiveDevice, SpotifyNotConnected
from spotify_sync.models import SpotifyConnection
from spotify_sync.services.connections import spotify_api_for_connection
from spotify_sync.services.matching import LOCAL_PREFIX


class TrackNotOnSpotify(ApplicationError):
    code = "track_not_on_spotify"


@dataclass(frozen=True)
class Playback:
    device_id: str
    device_name: str
    track_uri: str | None
    is_playing: bool


def _room_host_id(group_id: int) -> int:
    group = ListeningGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound(f"no room with id {group_id}")
    host_id = (
        Membership.objects.filter(group_id=group_id, role=Membership.Role.HOST)
        .order_by("joined_at", "pk")
        .values_list("user_id", flat=True)
        .first()
    ) or group.owner_id
    if host_id is None:
        raise ApplicationError(f"room {group.name!r} has no host to play through")
    return host_id


def _host_api(group_id: int) -> SpotifyApi:
    host_id = _room_host_id(group_id)
    connection = SpotifyConnection.objects.filter(user_id=host_id).first()
    if connection is None:
        raise SpotifyNotConnected(
            "The room's host has not connected Spotify, so the room cannot play through it: "
            "the host connects it on the Spotify page."
        )
    return spotify_api_for_connection(connection=connection)


def _device(api: SpotifyApi) -> dict[str, Any]:
    """The host's active device, else one Spotify lists that accepts commands."""
    devices = api.devices()
    active = next((d for d in devices if d.get("is_active")), None)
    usable = active or next((d for d in devices if not d.get("is_restricted")), None)
    if usable is None or not usable.get("id"):
        raise SpotifyNoActiveDevice()
    return usable


def _track_uri(track_id: int) -> str:
    spotify_id = Track.objects.filter(pk=track_id).values_list("spotify_id", flat=True).first()
    if spotify_id is None:
        raise NotFound(f"no track with id {track_id}")
    if spotify_id.startswith(LOCAL_PREFIX):
        raise TrackNotOnSpotify("This track came from a data export without a Spotify id.")
    return f"spotify:track:{spotify_id}"


def room_playback_start(*, group_id: int, track_id: int) -> Playback:
    """Play ``track_id`` now on the host's device (replacing whatever plays there)."""
    uri = _track_uri(track_id)
    api = _host_api(group_id)
    device = _device(api)
    api.playback_start(device_id=device["id"], uris=[uri])
    return Playback(str(device["id"]), str(device.get("name") or ""), uri, True)


def room_playback_pause(*, group_id: int) -> Playback:
    api = _host_api(group_id)
    device = _device(api)
    api.playback_pause(device_id=device["id"])
    return Playback(str(device["id"]), str(device.get("name") or ""), None, False)


def room_playback_next(*, group_id: int, next_track_id: int) -> Playback:
    """Move on to the room queue's next track (Spotify's own queue is never involved)."""
    return room_playback_start(group_id=group_id, track_id=next_track_id)
