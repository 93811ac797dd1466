"""The Spotify page in its states, and its sync and disconnect buttons."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from recommender.models import ListeningEvent
from spotify_sync.models import SpotifyConnection, SyncRun
from tests.spotify_sync.fake_spotify import FakeSpotify

pytestmark = pytest.mark.django_db

PAGE = reverse("spotify_sync:spotify")


@pytest.fixture
def browser(client: Client, owner: Any) -> Client:
    client.force_login(owner)
    return client


def test_not_configured_still_offers_the_export_upload(browser: Client, settings: Any) -> None:
    settings.USE_SPOTIFY = False

    page = browser.get(PAGE).content.decode()

    assert "Spotify is not configured on this server" in page
    assert 'data-testid="connect"' not in page
    assert 'data-testid="upload-form"' in page
    assert 'aria-current="page">Spotify</a>' in page  # the nav link, marked current


def test_not_connected_offers_connect(browser: Client, fake_spotify: FakeSpotify) -> None:
    page = browser.get(PAGE).content.decode()

    assert "Not connected" in page and 'data-testid="connect"' in page
    assert "No sync yet." in page


def test_connected_shows_the_account_and_the_last_sync(
    browser: Client,
    connected: SpotifyConnection,
    first_run: SyncRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    SyncRun.objects.filter(pk=first_run.pk).update(status="succeeded")  # finished long ago
    with django_capture_on_commit_callbacks(execute=True):
        answer = browser.post(reverse("spotify_sync:sync"))

    assert answer.status_code == 302
    page = browser.get(answer["Location"]).content.decode()
    assert "Connected" in page and "alice.spotify" in page and "Premium" in page
    assert 'data-testid="sync-status">Succeeded<' in page
    assert "Sync " in page and " started." in page
    assert ListeningEvent.objects.count() == 80


def test_sync_now_without_a_connection_is_explained(
    browser: Client, fake_spotify: FakeSpotify
) -> None:
    answer = browser.post(reverse("spotify_sync:sync"))

    assert answer.status_code == 409
    assert "Connect Spotify first" in answer.content.decode()


def test_disconnect_with_the_box_ticked_deletes_the_data(
    browser: Client, owner: Any, connected: SpotifyConnection, first_run: SyncRun
) -> None:
    from spotify_sync.tasks import spotify_sync

    spotify_sync.delay(first_run.pk)

    answer = browser.post(reverse("spotify_sync:disconnect"), {"delete_data": "on"}, follow=True)

    assert "Spotify is disconnected and" in answer.content.decode()
    assert not SpotifyConnection.objects.exists() and not ListeningEvent.objects.exists()


def test_disconnect_without_the_box_keeps_the_data(
    browser: Client, connected: SpotifyConnection, first_run: SyncRun
) -> None:
    from spotify_sync.tasks import spotify_sync

    spotify_sync.delay(first_run.pk)

    answer = browser.post(reverse("spotify_sync:disconnect"), follow=True)

    assert "Spotify is disconnected; the tokens are deleted." in answer.content.decode()
    assert not SpotifyConnection.objects.exists()
    assert ListeningEvent.objects.count() == 80


def test_export_data_without_a_connection_can_be_deleted(
    browser: Client, owner: Any, fake_spotify: FakeSpotify, fixtures_dir: Any
) -> None:
    from spotify_sync.exports import ExportFile
    from spotify_sync.services import export_import

    name = "StreamingHistory_music_0.json"
    data = (fixtures_dir / "spotify_export" / name).read_bytes()
    export_import(user_id=owner.pk, files=[ExportFile(name, data)])
    page = browser.get(PAGE).content.decode()
    assert 'data-testid="delete-data-form"' in page and "3 rows here came from Spotify" in page

    answer = browser.post(reverse("spotify_sync:disconnect"), {"delete_data": "on"}, follow=True)

    assert "rows of your Spotify data are deleted" in answer.content.decode()
    assert not ListeningEvent.objects.exists()
