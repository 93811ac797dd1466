"""The client's policy against the fake over real HTTP: 429, 5xx, 401, and one error type."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_sync.client import (
    RetryPolicy,
    SpotifyApi,
    TokenInfo,
    authorization_code_exchange,
    authorize_url_build,
    credentials_from_settings,
)
from spotify_sync.errors import SpotifyNoActiveDevice, SpotifyNotConfigured, SpotifySyncError
from tests.spotify_sync.conftest import REDIRECT_URI, consent
from tests.spotify_sync.fake_spotify import FakeSpotify, FakeUser

RECENT = "/v1/me/player/recently-played"


class Tokens:
    """An in-memory token store that remembers what it was asked to save."""

    def __init__(self, token: TokenInfo) -> None:
        self.token = token
        self.saved: list[TokenInfo] = []

    def load(self) -> TokenInfo:
        return self.token

    def save(self, token: TokenInfo) -> None:
        self.token = token
        self.saved.append(token)


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def tokens(fake_spotify: FakeSpotify, alice_spotify: FakeUser) -> Tokens:
    credentials = credentials_from_settings()
    url, verifier = authorize_url_build(
        credentials=credentials, redirect_uri=REDIRECT_URI, state="s"
    )
    back = consent(fake_spotify, url)
    token = authorization_code_exchange(
        credentials=credentials,
        redirect_uri=REDIRECT_URI,
        code=back["code"],
        code_verifier=verifier,
    )
    return Tokens(token)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def api(tokens: Tokens, waits: Waits) -> SpotifyApi:
    return SpotifyApi(
        tokens=tokens, policy=RetryPolicy(max_retries=3, backoff_s=0.5, max_wait_s=30, sleep=waits)
    )


def test_the_code_exchange_gives_tokens_from_the_settings_token_url(
    tokens: Tokens, fake_spotify: FakeSpotify
) -> None:
    assert tokens.token["access_token"].startswith("BQ")
    assert tokens.token["refresh_token"].startswith("AQ")
    assert "user-read-recently-played" in tokens.token["scope"].split()
    assert [r.path for r in fake_spotify.requests_to("/api/token")] == ["/api/token"]


def test_a_429_waits_retry_after_then_succeeds(
    api: SpotifyApi, fake_spotify: FakeSpotify, waits: Waits
) -> None:
    fake_spotify.fail(RECENT, 429, times=2, retry_after=7)

    page = api.recently_played(after_ms=0, limit=50)

    assert len(page["items"]) == 50
    assert waits == [7.0, 7.0]
    assert [r.status for r in fake_spotify.requests_to(RECENT)] == [429, 429, 200]


def test_5xx_backs_off_exponentially_then_succeeds(
    api: SpotifyApi, fake_spotify: FakeSpotify, waits: Waits
) -> None:
    fake_spotify.fail(RECENT, 503, times=3)

    api.recently_played(after_ms=0)

    assert waits == [0.5, 1.0, 2.0]


def test_5xx_beyond_the_retries_is_a_transient_error(
    api: SpotifyApi, fake_spotify: FakeSpotify, waits: Waits
) -> None:
    fake_spotify.fail(RECENT, 500, times=4)

    with pytest.raises(SpotifySyncError) as caught:
        api.recently_played(after_ms=0)

    assert caught.value.permanent is False and caught.value.status == 500
    assert len(fake_spotify.requests_to(RECENT)) == 4 and len(waits) == 3


def test_a_long_retry_after_goes_back_to_the_caller_without_sleeping(
    api: SpotifyApi, fake_spotify: FakeSpotify, waits: Waits
) -> None:
    fake_spotify.fail(RECENT, 429, retry_after=120)

    with pytest.raises(SpotifySyncError) as caught:
        api.recently_played(after_ms=0)

    assert (caught.value.permanent, caught.value.retry_after) == (False, 120.0)
    assert waits == []
    assert caught.value.as_dict()["code"] == "spotify_error"


def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    api: SpotifyApi, tokens: Tokens, fake_spotify: FakeSpotify
) -> None:
    old = tokens.token["access_token"]
    fake_spotify.expire_access_tokens()

    assert api.me()["id"] == "alice.spotify"

    assert len(tokens.saved) == 1 and tokens.token["access_token"] != old
    statuses = [(r.path, r.status) for r in fake_spotify.requests if r.path != "/authorize"]
    assert statuses[-3:] == [("/v1/me", 401), ("/api/token", 200), ("/v1/me", 200)]
    # The fake rotates refresh tokens, as Spotify's PKCE flow does: the new one is kept.
    fake_spotify.expire_access_tokens()
    api.me()
    assert len(tokens.saved) == 2


def test_a_revoked_grant_is_a_permanent_error(api: SpotifyApi, fake_spotify: FakeSpotify) -> None:
    fake_spotify.revoke_refresh_tokens()

    with pytest.raises(SpotifySyncError) as caught:
        api.me()

    assert caught.value.permanent is True
    assert (
        "invalid_grant" in caught.value.message and "connect Spotify again" in caught.value.message
    )


def test_a_403_is_permanent_and_explains_development_mode(
    api: SpotifyApi, fake_spotify: FakeSpotify, waits: Waits
) -> None:
    fake_spotify.fail("/v1/me", 403)

    with pytest.raises(SpotifySyncError) as caught:
        api.me()

    assert caught.value.permanent is True and waits == []
    assert "allowlist" in caught.value.message


def test_no_active_device_is_its_own_error(api: SpotifyApi, alice_spotify: FakeUser) -> None:
    alice_spotify.devices.clear()

    with pytest.raises(SpotifyNoActiveDevice) as caught:
        api.playback_start(device_id=None, uris=["spotify:track:4uLU6hMCjMI75M1A2tKUQC"])

    assert caught.value.reason == "NO_ACTIVE_DEVICE" and caught.value.http_status == 409


def test_a_server_that_does_not_answer_is_a_transient_error(
    tokens: Tokens, waits: Waits, settings: object, unused_tcp_port: int
) -> None:
    settings.SPOTIFY_API_BASE = f"http://127.0.0.1:{unused_tcp_port}"  # type: ignore[attr-defined]
    api = SpotifyApi(tokens=tokens, policy=RetryPolicy(max_retries=1, sleep=waits))

    with pytest.raises(SpotifySyncError) as caught:
        api.me()

    assert caught.value.permanent is False and "did not answer" in caught.value.message
    assert waits == [0.5]


def test_a_next_link_off_the_api_is_refused(api: SpotifyApi) -> None:
    with pytest.raises(SpotifySyncError, match="off the API"):
        api.next_page({"next": "https://evil.example/v1/me/tracks?offset=50"})


def test_no_token_cache_file_is_written(
    api: SpotifyApi, fake_spotify: FakeSpotify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_spotify.expire_access_tokens()

    api.me()

    assert list(tmp_path.iterdir()) == []


def test_without_a_client_id_spotify_is_not_configured(settings: object) -> None:
    settings.SPOTIFY_CLIENT_ID = ""  # type: ignore[attr-defined]

    with pytest.raises(SpotifyNotConfigured, match="SPOTIFY_CLIENT_ID"):
        credentials_from_settings()
