"""A sync run: every resource of one user's Spotify, in order, resumable from the cursors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from recommender.serving.state import listener_generation_bump
from spotify_sync.client import SpotifyApi
from spotify_sync.errors import SpotifyNotConnected
from spotify_sync.models import SpotifyConnection, SyncRun
from spotify_sync.services.connections import spotify_api_for_connection
from spotify_sync.services.history import recently_played_ingest, saved_tracks_ingest
from spotify_sync.services.library import playlists_ingest, top_artists_ingest, top_tracks_ingest

Ingest = Callable[..., None]

# Plays first: they are what the models learn from, and what a user waits to see.
INGESTS: tuple[tuple[str, Ingest], ...] = (
    ("recently_played", recently_played_ingest),
    ("top_artists", top_artists_ingest),
    ("top_tracks", top_tracks_ingest),
    ("saved_tracks", saved_tracks_ingest),
    ("playlists", playlists_ingest),
)
RUNNING_FOR_AT_MOST = dt.timedelta(minutes=15)  # an older "running" run died with its worker


def _connection(user_id: int) -> SpotifyConnection:
    connection = SpotifyConnection.objects.filter(user_id=user_id).first()
    if connection is None:
        raise SpotifyNotConnected("Connect Spotify first: there is no account to sync from.")
    return connection


@transaction.atomic
def sync_run_start(*, user_id: int) -> tuple[SyncRun, bool]:
    """A new run to hand to the task, or the one already running (``False``: do not enqueue)."""
    _connection(user_id)
    running = (
        SyncRun.objects.select_for_update()
        .filter(
            user_id=user_id,
            status=SyncRun.Status.RUNNING,
            started_at__gte=timezone.now() - RUNNING_FOR_AT_MOST,
        )
        .first()
    )
    if running is not None:
        return running, False
    run = SyncRun(user_id=user_id)
    run.full_clean()
    run.save()
    return run, True


def sync_run_request(*, user_id: int) -> SyncRun:
    """Start a run and queue its task once this transaction commits (STYLE rule 5)."""
    from spotify_sync.tasks import spotify_sync  # the tasks module imports the services

    run, fresh = sync_run_start(user_id=user_id)
    if fresh:
        transaction.on_commit(lambda: spotify_sync.delay(run.pk))
    return run


def sync_run_execute(*, run_id: int, api: SpotifyApi | None = None) -> SyncRun:
    """Ingest everything; a ``SpotifySyncError`` leaves finished pages and cursors in place.

    ``api`` is for callers that bring their own client (a retry policy of their own); by
    default the connection's client is built from settings.
    """
    run = SyncRun.objects.get(pk=run_id)
    run.attempts += 1
    run.status = SyncRun.Status.RUNNING
    run.save(update_fields=["attempts", "status"])
    connection = _connection(run.user_id)
    api = api or spotify_api_for_connection(connection=connection)
    try:
        for _, ingest in INGESTS:
            ingest(api=api, run=run, account=connection.spotify_user_id)
    finally:
        # New plays change what the models fold in: serve fresh recommendations next time.
        listener_generation_bump(user_id=run.user_id)
    return _finish(run, SyncRun.Status.SUCCEEDED, "")


def sync_run_fail(*, run_id: int, message: str) -> SyncRun:
    """Record why a run stopped for good (the task's final-failure callback)."""
    return _finish(SyncRun.objects.get(pk=run_id), SyncRun.Status.FAILED, message)


@transaction.atomic
def _finish(run: SyncRun, status: str, message: str) -> SyncRun:
    run.status = status
    run.message = message[:2000]
    run.finished_at = timezone.now()
    run.full_clean()
    run.save(update_fields=["status", "message", "finished_at"])
    return run
