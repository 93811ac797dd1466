"""Disconnect deletes the tokens and, when asked, every Spotify-derived row of that user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Model

from recommender.models import (
    Artist,
    ImportRun,
    ListeningEvent,
    Playlist,
    PlaylistTrack,
    Track,
)
from spotify_sync.exports import ExportFile
from spotify_sync.models import (
    SavedTrack,
    SpotifyArtist,
    SpotifyConnection,
    SpotifyPlaylist,
    SpotifyTrack,
    SyncCursor,
    SyncRun,
    TopItem,
)
from spotify_sync.services import connection_disconnect, export_import
from spotify_sync.tasks import spotify_sync
from tests.factories import TrackFactory
from tests.spotify_sync.conftest import connect
from tests.spotify_sync.fake_spotify import FakeSpotify, FakeUser, listener

pytestmark = pytest.mark.django_db

SPOTIFY_MODELS: list[type[Model]] = [
    SpotifyConnection,
    SyncCursor,
    SyncRun,
    SpotifyTrack,
    SpotifyArtist,
    SpotifyPlaylist,
    TopItem,
    SavedTrack,
]


def row_counts() -> dict[str, int]:
    """Every table the product has, counted."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"recommender", "groups", "spotify_sync"}
    }


def rows_of(user: Any) -> dict[str, int]:
    return {
        "events": ListeningEvent.objects.filter(user=user).count(),
        "top": TopItem.objects.filter(user=user).count(),
        "saved": SavedTrack.objects.filter(user=user).count(),
        "playlists": SpotifyPlaylist.objects.filter(user=user).count(),
        "cursors": SyncCursor.objects.filter(user=user).count(),
        "runs": SyncRun.objects.filter(user=user).count(),
    }


@pytest.fixture
def synced(
    owner: Any, connected: SpotifyConnection, first_run: SyncRun, fixtures_dir: Path
) -> SpotifyConnection:
    """Alice: synced from Spotify, an export imported, and one play in a room."""
    spotify_sync.delay(first_run.pk)
    folder = fixtures_dir / "spotify_export"
    name = "Streaming_History_Audio_2023-2024_0.json"
    export_import(user_id=owner.pk, files=[ExportFile(name, (folder / name).read_bytes())])
    return connected


def test_disconnect_alone_deletes_the_tokens_and_keeps_the_data(
    owner: Any, synced: SpotifyConnection
) -> None:
    before = rows_of(owner)

    counts = connection_disconnect(user_id=owner.pk, delete_data=False)

    assert counts == {"spotify_sync.SpotifyConnection": 1}
    assert not SpotifyConnection.objects.exists()
    assert rows_of(owner) == before and before["events"] == 80 + 22


def test_disconnect_with_delete_removes_every_spotify_derived_row(
    owner: Any,
    member: Any,
    synced: SpotifyConnection,
    fake_spotify: FakeSpotify,
    alice_spotify: FakeUser,
) -> None:
    catalogue_track = TrackFactory()  # the catalogue before any Spotify data: it stays
    room_play = ListeningEvent.objects.create(
        user=owner, track=catalogue_track, played_at="2024-01-01T00:00Z", source="room"
    )
    # Bob follows Alice's "Road trip" and has his own account; his data must survive hers.
    bob_spotify = listener("bob.spotify", plays=3, artists=[alice_spotify.top_artists[0]])
    bob_spotify.playlists = [alice_spotify.playlists[0]]
    fake_spotify.add_user(bob_spotify)
    connect(member, fake_spotify)
    spotify_sync.delay(SyncRun.objects.get(user=member).pk)
    bob_before = rows_of(member)
    before = row_counts()

    counts = connection_disconnect(user_id=owner.pk, delete_data=True)

    after = row_counts()
    assert rows_of(owner) == dict.fromkeys(rows_of(owner), 0) | {"events": 1}
    assert ListeningEvent.objects.filter(user=owner).get() == room_play
    assert rows_of(member) == bob_before
    assert not SpotifyConnection.objects.filter(user=owner).exists()
    assert SpotifyConnection.objects.filter(user=member).exists()
    assert not ImportRun.objects.filter(kind="spotify_export").exists()
    # The shared playlist stays (Bob's sync still lists it), and is now his to delete.
    assert Playlist.objects.filter(name="Road trip").exists()
    assert not Playlist.objects.filter(name="Editors' picks").exists()
    assert SpotifyPlaylist.objects.get(user=member, playlist__name="Road trip").created_playlist
    # Tracks and artists Alice's data brought in are gone unless Bob's plays use them.
    bob_tracks = set(ListeningEvent.objects.filter(user=member).values_list("track", flat=True))
    bob_tracks |= set(PlaylistTrack.objects.values_list("track", flat=True))
    assert set(Track.objects.values_list("pk", flat=True)) == bob_tracks | {catalogue_track.pk}
    assert set(Artist.objects.values_list("pk", flat=True)) == set(
        Track.objects.values_list("artist", flat=True)
    )
    # The counts returned are the rows that went, table by table.
    went = {
        label: before[label] - after[label] for label in before if before[label] != after[label]
    }
    assert counts == went
    assert counts["recommender.ListeningEvent"] == 80 + 22


def test_delete_without_a_connection_removes_an_export(owner: Any, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "spotify_export"
    name = "StreamingHistory_music_0.json"
    export_import(user_id=owner.pk, files=[ExportFile(name, (folder / name).read_bytes())])

    counts = connection_disconnect(user_id=owner.pk, delete_data=True)

    assert counts["recommender.ListeningEvent"] == 3
    assert not ListeningEvent.objects.exists() and not Track.objects.exists()
    assert not Artist.objects.exists()
    assert all(not model._default_manager.exists() for model in SPOTIFY_MODELS)
