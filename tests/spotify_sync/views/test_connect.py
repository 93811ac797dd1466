"""The full OAuth redirect dance through Django's test client, against the fake over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from recommender.models import ListeningEvent
from spotify_sync.crypto import token_decrypt
from spotify_sync.models import SpotifyConnection, SyncRun
from tests.spotify_sync.conftest import REDIRECT_URI
from tests.spotify_sync.fake_spotify import FakeSpotify, FakeUser, listener

pytestmark = pytest.mark.django_db

PAGE = reverse("spotify_sync:spotify")
CONNECT = reverse("spotify_sync:connect")
CALLBACK = reverse("spotify_sync:callback")


@pytest.fixture
def browser(client: Client, owner: Any) -> Client:
    client.force_login(owner)
    return client


def start(browser: Client, fake: FakeSpotify) -> str:
    """Press Connect: Django redirects to the fake's consent page."""
    answer = browser.post(CONNECT)
    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith(f"{fake.base_url}/authorize?")
    return location


def consent(authorize_url: str) -> tuple[str, dict[str, str]]:
    """The fake's consent page redirects back to our callback with code and state."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    return back.path, dict(parse_qsl(back.query))


def test_connect_through_the_redirect_dance(
    browser: Client,
    owner: Any,
    fake_spotify: FakeSpotify,
    alice_spotify: FakeUser,
    django_capture_on_commit_callbacks: Any,
) -> None:
    authorize_url = start(browser, fake_spotify)
    query = dict(parse_qsl(urlsplit(authorize_url).query))
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == REDIRECT_URI and query["state"]
    assert "user-read-recently-played" in query["scope"].split()

    path, back = consent(authorize_url)
    with django_capture_on_commit_callbacks(execute=True):
        answer = browser.get(path, back)

    assert answer.status_code == 302 and answer["Location"] == PAGE
    connection = SpotifyConnection.objects.get(user=owner)
    assert (connection.spotify_user_id, connection.display_name) == ("alice.spotify", "Alice")
    # The code went over HTTP to the fake's token endpoint, with the PKCE verifier it checked.
    assert [r.status for r in fake_spotify.requests_to("/api/token")] == [200]
    # Tokens are encrypted at rest.
    token = token_decrypt(connection.tokens)
    assert token["access_token"] not in connection.tokens
    assert token["refresh_token"] not in connection.tokens
    # The first sync ran once the connection was saved.
    run = SyncRun.objects.get(user=owner)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert ListeningEvent.objects.filter(user=owner).count() == 80
    page = browser.get(PAGE)
    assert "Connected to Spotify as Alice" in page.content.decode()
    assert 'data-testid="disconnect-form"' in page.content.decode()


def test_a_wrong_state_connects_nothing(
    browser: Client, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    path, back = consent(start(browser, fake_spotify))

    answer = browser.get(path, {**back, "state": "forged"})

    assert answer.status_code == 400
    assert "state mismatch" in answer.content.decode()
    assert not SpotifyConnection.objects.exists()
    assert fake_spotify.requests_to("/api/token") == []  # the code was never used


def test_a_replayed_callback_is_refused(
    browser: Client, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    path, back = consent(start(browser, fake_spotify))
    assert browser.get(path, back).status_code == 302

    again = browser.get(path, back)

    assert again.status_code == 400
    assert "expired or was already used" in again.content.decode()


def test_a_callback_without_a_started_sign_in_is_refused(
    browser: Client, fake_spotify: FakeSpotify
) -> None:
    answer = browser.get(CALLBACK, {"code": "x", "state": "y"})

    assert answer.status_code == 400
    assert "press Connect again" in answer.content.decode()


def test_declining_on_spotify_is_reported(
    browser: Client, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    fake_spotify.deny_consent = True
    path, back = consent(start(browser, fake_spotify))

    answer = browser.get(path, back)

    assert answer.status_code == 400
    assert "did not grant access (access_denied)" in answer.content.decode()
    assert not SpotifyConnection.objects.exists()


def test_a_spotify_account_connects_to_one_audotics_user_only(
    browser: Client, member: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    other = Client()
    other.force_login(member)
    path, back = consent(start(other, fake_spotify))
    assert other.get(path, back).status_code == 302

    path, back = consent(start(browser, fake_spotify))
    answer = browser.get(path, back)

    assert answer.status_code == 400
    assert "already connected to another Audotics user" in answer.content.decode()


def test_reconnecting_another_account_forgets_the_old_cursors(
    browser: Client, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    from spotify_sync.models import SyncCursor

    path, back = consent(start(browser, fake_spotify))
    browser.get(path, back)
    SyncCursor.objects.create(
        user=owner, resource="recently_played", spotify_user_id="alice.spotify", value="1"
    )
    fake_spotify.add_user(listener("alice.work", plays=3))

    path, back = consent(start(browser, fake_spotify))
    browser.get(path, back)

    assert SpotifyConnection.objects.get(user=owner).spotify_user_id == "alice.work"
    assert not SyncCursor.objects.filter(user=owner).exists()


def test_the_pages_need_a_signed_in_user(client: Client) -> None:
    for answer in (client.get(PAGE), client.post(CONNECT), client.get(CALLBACK)):
        assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_connect_explains_when_spotify_is_not_configured(browser: Client, settings: Any) -> None:
    settings.USE_SPOTIFY = False

    answer = browser.post(CONNECT)

    assert answer.status_code == 503
    assert "set SPOTIFY_CLIENT_ID" in answer.content.decode()
