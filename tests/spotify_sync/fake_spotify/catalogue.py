"""The fake's data, and its JSON in the shapes the Web API documents (real field names).

Objects are built the way Spotify serialises them (track objects with ``album``, ``artists``,
``external_ids.isrc``, ``duration_ms``, ``uri``; ``played_at`` in ISO 8601 with milliseconds and
``Z``), minus the fields Spotify removed for development-mode apps (``popularity``,
``available_markets``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def spotify_id(seed: str) -> str:
    """A deterministic 22-character base-62 id, like Spotify's."""
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(22):
        n, r = divmod(n, 62)
        chars.append(BASE62[r])
    return "".join(chars)


def iso(moment: dt.datetime) -> str:
    """``2024-05-01T10:00:00.123Z``: Spotify's timestamp format."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class FakeArtist:
    name: str
    id: str = ""
    genres: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.id = self.id or spotify_id(f"artist:{self.name}")


@dataclass
class FakeTrack:
    name: str
    artist: FakeArtist
    id: str = ""
    album_name: str = ""
    isrc: str = ""
    duration_ms: int = 215_000
    release_date: str = "2019-05-31"

    def __post_init__(self) -> None:
        self.id = self.id or spotify_id(f"track:{self.artist.name}:{self.name}")
        self.album_name = self.album_name or f"{self.name} (Single)"
        self.isrc = self.isrc or "GB" + spotify_id(f"isrc:{self.id}")[:10].upper()

    @property
    def uri(self) -> str:
        return f"spotify:track:{self.id}"


@dataclass
class FakePlaylist:
    name: str
    owner_id: str
    tracks: list[FakeTrack] = field(default_factory=list)
    id: str = ""
    snapshot: int = 1

    def __post_init__(self) -> None:
        self.id = self.id or spotify_id(f"playlist:{self.owner_id}:{self.name}")

    @property
    def snapshot_id(self) -> str:
        return spotify_id(f"snapshot:{self.id}:{self.snapshot}") + "AAAA"

    def add(self, track: FakeTrack) -> None:
        """Change the playlist the way Spotify does: a new snapshot id."""
        self.tracks.append(track)
        self.snapshot += 1


@dataclass
class FakeDevice:
    name: str
    id: str = ""
    type: str = "Computer"
    is_active: bool = False
    is_restricted: bool = False

    def __post_init__(self) -> None:
        self.id = self.id or spotify_id(f"device:{self.name}")[:20] + "00" * 10


@dataclass
class FakeUser:
    id: str
    display_name: str
    product: str = "premium"
    plays: list[tuple[dt.datetime, FakeTrack]] = field(default_factory=list)
    top_artists: list[FakeArtist] = field(default_factory=list)
    top_tracks: list[FakeTrack] = field(default_factory=list)
    saved: list[tuple[dt.datetime, FakeTrack]] = field(default_factory=list)
    playlists: list[FakePlaylist] = field(default_factory=list)
    devices: list[FakeDevice] = field(default_factory=list)
    playing_uri: str | None = None
    is_playing: bool = False


# --- JSON shapes ------------------------------------------------------------------------------


def _urls(base: str, kind: str, id_: str) -> dict[str, Any]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id_}"},
        "href": f"{base}/v1/{kind}s/{id_}",
        "id": id_,
        "type": kind,
        "uri": f"spotify:{kind}:{id_}",
    }


def artist_simplified(base: str, artist: FakeArtist) -> dict[str, Any]:
    return {**_urls(base, "artist", artist.id), "name": artist.name}


def artist_object(base: str, artist: FakeArtist) -> dict[str, Any]:
    return {
        **artist_simplified(base, artist),
        "followers": {"href": None, "total": 1234},
        "genres": artist.genres,
        "images": [],
    }


def track_object(base: str, track: FakeTrack) -> dict[str, Any]:
    album_id = spotify_id(f"album:{track.album_name}")
    return {
        **_urls(base, "track", track.id),
        "album": {
            **_urls(base, "album", album_id),
            "album_type": "single",
            "artists": [artist_simplified(base, track.artist)],
            "images": [{"url": f"https://i.scdn.co/image/{album_id}", "height": 640, "width": 640}],
            "name": track.album_name,
            "release_date": track.release_date,
            "release_date_precision": "day",
            "total_tracks": 1,
        },
        "artists": [artist_simplified(base, track.artist)],
        "disc_number": 1,
        "duration_ms": track.duration_ms,
        "explicit": False,
        "external_ids": {"isrc": track.isrc},
        "is_local": False,
        "name": track.name,
        "preview_url": None,
        "track_number": 1,
    }


def user_object(base: str, user: FakeUser) -> dict[str, Any]:
    return {
        **_urls(base, "user", user.id),
        "country": "GB",
        "display_name": user.display_name,
        "explicit_content": {"filter_enabled": False, "filter_locked": False},
        "followers": {"href": None, "total": 0},
        "images": [],
        "product": user.product,
    }


def playlist_simplified(
    base: str, playlist: FakePlaylist, owner: FakeUser | None
) -> dict[str, Any]:
    return {
        **_urls(base, "playlist", playlist.id),
        "collaborative": False,
        "description": "",
        "images": [],
        "name": playlist.name,
        "owner": {
            **_urls(base, "user", playlist.owner_id),
            "display_name": owner.display_name if owner else playlist.owner_id,
        },
        "public": True,
        "snapshot_id": playlist.snapshot_id,
        "tracks": {
            "href": f"{base}/v1/playlists/{playlist.id}/tracks",
            "total": len(playlist.tracks),
        },
    }


def device_object(device: FakeDevice) -> dict[str, Any]:
    return {
        "id": device.id,
        "is_active": device.is_active,
        "is_private_session": False,
        "is_restricted": device.is_restricted,
        "name": device.name,
        "supports_volume": True,
        "type": device.type,
        "volume_percent": 62,
    }


# --- Ready-made libraries ---------------------------------------------------------------------


def demo_artists() -> list[FakeArtist]:
    names = ["Daft Punk", "Radiohead", "Massive Attack", "Björk", "Portishead", "Air", "Moby"]
    return [FakeArtist(name, genres=["electronic"]) for name in names]


def listener(
    user_id: str,
    *,
    display_name: str = "",
    plays: int = 80,
    start: dt.datetime | None = None,
    artists: list[FakeArtist] | None = None,
) -> FakeUser:
    """A Premium listener with ``plays`` plays (one every 7 minutes), top lists, liked songs,
    two playlists (one of their own, one they follow) and one active computer."""
    artists = artists or demo_artists()
    tracks = [
        FakeTrack(f"Song {k + 1} of {artist.name}", artist) for artist in artists for k in range(3)
    ]
    start = start or dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
    history = [
        (start + dt.timedelta(minutes=7 * k, milliseconds=123), tracks[k % len(tracks)])
        for k in range(plays)
    ]
    saved = [(start - dt.timedelta(days=k + 1), tracks[k]) for k in range(min(5, len(tracks)))]
    return FakeUser(
        id=user_id,
        display_name=display_name or user_id.title(),
        plays=history,
        top_artists=artists[:5],
        top_tracks=tracks[:6],
        saved=saved,
        playlists=[
            FakePlaylist("Road trip", user_id, tracks[:4]),
            FakePlaylist("Editors' picks", "spotify", tracks[4:7]),
        ],
        devices=[FakeDevice("Alice's laptop", is_active=True)],
    )
