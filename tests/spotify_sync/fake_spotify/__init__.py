"""A local fake Spotify for tests and the demo (`python -m tests.spotify_sync.fake_spotify`)."""

from __future__ import annotations

from tests.spotify_sync.fake_spotify.catalogue import (
    FakeArtist,
    FakeDevice,
    FakePlaylist,
    FakeTrack,
    FakeUser,
    listener,
    spotify_id,
)
from tests.spotify_sync.fake_spotify.server import FakeSpotify, Recorded

__all__ = [
    "FakeArtist",
    "FakeDevice",
    "FakePlaylist",
    "FakeSpotify",
    "FakeTrack",
    "FakeUser",
    "Recorded",
    "listener",
    "spotify_id",
]
