"""The fake Spotify on 127.0.0.1, the settings that point the real client at it, and a
connected persona (Alice, from the root conftest, with her Spotify account "alice.spotify")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from spotify_sync.models import SpotifyConnection, SyncRun
from spotify_sync.services import connection_authorize_start, connection_complete
from tests.spotify_sync.fake_spotify import FakeSpotify, FakeUser, listener

REDIRECT_URI = "http://testserver/spotify/callback"


@pytest.fixture
def fake_spotify(settings: Any) -> Iterator[FakeSpotify]:
    fake = FakeSpotify(redirect_uris={REDIRECT_URI}).start()
    settings.USE_SPOTIFY = True
    settings.SPOTIFY_CLIENT_ID = fake.client_id
    settings.SPOTIFY_CLIENT_SECRET = ""
    settings.SPOTIFY_API_BASE = fake.base_url
    settings.SPOTIFY_ACCOUNTS_BASE = fake.base_url
    settings.SPOTIFY_REDIRECT_URI = REDIRECT_URI
    settings.SPOTIFY_RETRY_SLEEP_SCALE = 0.0  # waits are computed, never slept
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def alice_spotify(fake_spotify: FakeSpotify) -> FakeUser:
    """Alice's Spotify account: 80 plays (two pages of 50), top lists, library, playlists."""
    return fake_spotify.add_user(listener("alice.spotify", display_name="Alice", plays=80))


def consent(fake: FakeSpotify, authorize_url: str) -> dict[str, str]:
    """Follow the consent page like a browser; returns the query Spotify redirects back with."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def connect(user: Any, fake: FakeSpotify) -> SpotifyConnection:
    """The OAuth dance through the services (the views' own test drives it through Django)."""
    url, pending = connection_authorize_start(redirect_uri=REDIRECT_URI)
    back = consent(fake, url)
    return connection_complete(
        user_id=user.pk, pending=pending, state=back["state"], code=back.get("code", "")
    )


@pytest.fixture
def connected(owner: Any, alice_spotify: FakeUser, fake_spotify: FakeSpotify) -> SpotifyConnection:
    """Alice connected; the first sync run is created but not executed (tests run it)."""
    return connect(owner, fake_spotify)


@pytest.fixture
def first_run(connected: SpotifyConnection) -> SyncRun:
    return SyncRun.objects.get(user_id=connected.user_id)
