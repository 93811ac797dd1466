"""Ingesting a user's listening: recently played (cursor: ``after``) and saved tracks.

Every page is written in its own transaction together with the cursor it advances, and the
HTTP calls happen outside those transactions. A sync that stops half way (a 5xx that outlasts
the retries, a worker restart) has kept each finished page and its cursor, so the next attempt
asks Spotify only for what comes after; plays that arrive twice are one row (the
``ListeningEvent`` unique constraint), so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db import transaction

from recommender.models import ListeningEvent
from spotify_sync.client import JSON, SpotifyApi
from spotify_sync.models import SavedTrack, SyncCursor, SyncRun
from spotify_sync.services.matching import TrackRef, tracks_resolve

PAGE_LIMIT = 50
MAX_PAGES = 200  # a guard against a server whose "next" never ends

Resource = SyncCursor.Resource


def parse_time(value: str) -> dt.datetime:
    """Spotify's ISO 8601 timestamps (``2024-05-01T10:00:00.123Z``) as aware datetimes."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def cursor_get(*, user_id: int, resource: str) -> str | None:
    return (
        SyncCursor.objects.filter(user_id=user_id, resource=resource)
        .values_list("value", flat=True)
        .first()
    )


def cursor_set(*, user_id: int, account: str, resource: str, value: str) -> None:
    SyncCursor.objects.update_or_create(
        user_id=user_id,
        resource=resource,
        defaults={"value": value[:64], "spotify_user_id": account},
    )


def run_count(run: SyncRun, **increments: int) -> None:
    """Add to the run's counts (inside the page's transaction, so they match what was kept)."""
    for name, n in increments.items():
        run.counts[name] = int(run.counts.get(name, 0)) + n
    run.save(update_fields=["counts"])


def pages(api: SpotifyApi, first: JSON) -> Iterator[JSON]:
    """``first`` and the pages its ``next`` links lead to (each fetched only when needed)."""
    page: JSON | None = first
    for _ in range(MAX_PAGES):
        if page is None:
            return
        yield page
        page = api.next_page(page)


# --- Recently played --------------------------------------------------------------------------


def recently_played_ingest(*, api: SpotifyApi, run: SyncRun, account: str) -> None:
    """Plays since the stored ``after`` cursor, page by page, each page with its cursor."""
    cursor = cursor_get(user_id=run.user_id, resource=Resource.RECENTLY_PLAYED)
    first = api.recently_played(after_ms=int(cursor) if cursor else 0, limit=PAGE_LIMIT)
    for page in pages(api, first):
        _recent_page_store(run=run, account=account, page=page)


@transaction.atomic
def _recent_page_store(*, run: SyncRun, account: str, page: JSON) -> None:
    plays = [
        (ref, parse_time(item["played_at"]))
        for item in page.get("items") or []
        if item.get("played_at") and (ref := TrackRef.from_api(item.get("track")))
    ]
    resolution = tracks_resolve(refs=[ref for ref, _ in plays], user_id=run.user_id)
    events = [
        ListeningEvent(
            user_id=run.user_id,
            track_id=resolution.track_ids[ref.key],
            played_at=played_at,
            source=ListeningEvent.Source.SPOTIFY,
        )
        for ref, played_at in plays
    ]
    added = events_insert(user_id=run.user_id, events=events)
    next_cursor = _after_cursor(page, [played_at for _, played_at in plays])
    if next_cursor is not None:
        cursor_set(
            user_id=run.user_id,
            account=account,
            resource=Resource.RECENTLY_PLAYED,
            value=str(next_cursor),
        )
    run_count(run, plays=added, tracks_created=resolution.created)


def _after_cursor(page: JSON, played: list[dt.datetime]) -> int | None:
    cursors: dict[str, Any] = page.get("cursors") or {}
    if cursors.get("after"):
        return int(cursors["after"])
    if played:
        return int(max(played).timestamp() * 1000)
    return None


def events_insert(*, user_id: int, events: list[ListeningEvent]) -> int:
    """Insert the plays not stored yet; returns how many were new."""
    unique = {(e.track_id, e.played_at): e for e in events}
    if not unique:
        return 0
    times = [played_at for _, played_at in unique]
    existing = set(
        ListeningEvent.objects.filter(
            user_id=user_id, played_at__range=(min(times), max(times))
        ).values_list("track_id", "played_at")
    )
    new = [event for key, event in unique.items() if key not in existing]
    ListeningEvent.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    return len(new)


# --- Saved tracks -----------------------------------------------------------------------------


def saved_tracks_ingest(*, api: SpotifyApi, run: SyncRun, account: str) -> None:
    """Tracks saved since the newest ``added_at`` seen last time (Spotify lists newest first).

    The cursor moves only once the new part is fully stored: a sync stopped half way starts
    again from the top next time, and the upserts make that harmless.
    """
    cursor = cursor_get(user_id=run.user_id, resource=Resource.SAVED_TRACKS)
    since = parse_time(cursor) if cursor else None
    newest = since
    for page in pages(api, api.saved_tracks(limit=PAGE_LIMIT)):
        items = [
            (ref, parse_time(item["added_at"]))
            for item in page.get("items") or []
            if item.get("added_at") and (ref := TrackRef.from_api(item.get("track")))
        ]
        fresh = [(ref, added) for ref, added in items if since is None or added > since]
        _saved_page_store(run=run, items=fresh)
        if fresh:
            latest = max(added for _, added in fresh)
            newest = latest if newest is None else max(newest, latest)
        if len(fresh) < len(items):
            break  # reached what the previous sync stored
    if newest is not None:
        cursor_set(
            user_id=run.user_id,
            account=account,
            resource=Resource.SAVED_TRACKS,
            value=newest.isoformat(),
        )


@transaction.atomic
def _saved_page_store(*, run: SyncRun, items: list[tuple[TrackRef, dt.datetime]]) -> None:
    if not items:
        return
    resolution = tracks_resolve(refs=[ref for ref, _ in items], user_id=run.user_id)
    rows = {
        resolution.track_ids[ref.key]: SavedTrack(
            user_id=run.user_id, track_id=resolution.track_ids[ref.key], added_at=added
        )
        for ref, added in items
    }
    SavedTrack.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["user", "track"],
        update_fields=["added_at"],
    )
    run_count(run, saved_tracks=len(rows), tracks_created=resolution.created)
