"""Ingesting a user's library: top artists and tracks, and their playlists with their tracks.

Top lists are snapshots: each time range is fetched whole, then replaces the stored one in one
transaction. Playlists are incremental by ``snapshot_id``: a playlist whose snapshot has not
changed since the last sync is not fetched again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from recommender.models import Playlist, PlaylistTrack
from spotify_sync.client import JSON, SpotifyApi
from spotify_sync.models import SpotifyPlaylist, SyncCursor, SyncRun, TopItem
from spotify_sync.services.history import PAGE_LIMIT, cursor_set, pages, run_count
from spotify_sync.services.matching import ArtistRef, TrackRef, artists_resolve, tracks_resolve

Resource = SyncCursor.Resource


def _all_items(api: SpotifyApi, first: JSON) -> list[dict[str, Any]]:
    return [item for page in pages(api, first) for item in page.get("items") or []]


# --- Top artists and tracks -------------------------------------------------------------------


def top_artists_ingest(*, api: SpotifyApi, run: SyncRun, account: str) -> None:
    for time_range in TopItem.TimeRange.values:
        items = _all_items(api, api.top_artists(time_range=time_range, limit=PAGE_LIMIT))
        refs = [ArtistRef.from_api(item) for item in items if item.get("name")]
        _top_artists_store(run=run, time_range=time_range, refs=refs)
    _fetched(run, account, Resource.TOP_ARTISTS)


def top_tracks_ingest(*, api: SpotifyApi, run: SyncRun, account: str) -> None:
    for time_range in TopItem.TimeRange.values:
        items = _all_items(api, api.top_tracks(time_range=time_range, limit=PAGE_LIMIT))
        refs = [ref for item in items if (ref := TrackRef.from_api(item))]
        _top_tracks_store(run=run, time_range=time_range, refs=refs)
    _fetched(run, account, Resource.TOP_TRACKS)


def _fetched(run: SyncRun, account: str, resource: str) -> None:
    cursor_set(
        user_id=run.user_id, account=account, resource=resource, value=timezone.now().isoformat()
    )


@transaction.atomic
def _top_artists_store(*, run: SyncRun, time_range: str, refs: list[ArtistRef]) -> None:
    artist_ids = artists_resolve(refs=refs, user_id=run.user_id)
    targets = [{"artist_id": artist_ids[ref.key]} for ref in refs]
    _top_replace(run=run, kind=TopItem.Kind.ARTIST, time_range=time_range, targets=targets)


@transaction.atomic
def _top_tracks_store(*, run: SyncRun, time_range: str, refs: list[TrackRef]) -> None:
    resolution = tracks_resolve(refs=refs, user_id=run.user_id)
    targets = [{"track_id": resolution.track_ids[ref.key]} for ref in refs]
    _top_replace(run=run, kind=TopItem.Kind.TRACK, time_range=time_range, targets=targets)
    run_count(run, tracks_created=resolution.created)


def _top_replace(
    *, run: SyncRun, kind: str, time_range: str, targets: list[dict[str, int]]
) -> None:
    now = timezone.now()
    TopItem.objects.filter(user_id=run.user_id, kind=kind, time_range=time_range).delete()
    TopItem.objects.bulk_create(
        TopItem(
            user_id=run.user_id,
            kind=kind,
            time_range=time_range,
            rank=rank,
            fetched_at=now,
            **target,
        )
        for rank, target in enumerate(targets, start=1)
    )
    run_count(run, **{f"top_{kind}s": len(targets)})


# --- Playlists --------------------------------------------------------------------------------


def playlists_ingest(*, api: SpotifyApi, run: SyncRun, account: str) -> None:
    """Every playlist in the user's library; tracks only for those whose snapshot changed."""
    known = dict(
        SpotifyPlaylist.objects.filter(user_id=run.user_id).values_list(
            "playlist__spotify_id", "snapshot_id"
        )
    )
    for playlist in _all_items(api, api.playlists(limit=PAGE_LIMIT)):
        spotify_id = str(playlist.get("id") or "")
        if not spotify_id or len(spotify_id) > 22:
            continue
        snapshot = str(playlist.get("snapshot_id") or "")
        if snapshot and known.get(spotify_id) == snapshot:
            continue
        first = api.playlist_items(playlist_id=spotify_id, limit=PAGE_LIMIT)
        entries = _all_items(api, first)
        refs = [ref for entry in entries if (ref := TrackRef.from_api(_entry_track(entry)))]
        _playlist_store(run=run, account=account, playlist=playlist, refs=refs)
    _fetched(run, account, Resource.PLAYLISTS)


def _entry_track(entry: dict[str, Any]) -> dict[str, Any] | None:
    # ``/playlists/{id}/items`` entries carry the track as "item"; the older ``/tracks`` as "track".
    found = entry.get("item") or entry.get("track")
    return found if isinstance(found, dict) else None


@transaction.atomic
def _playlist_store(*, run: SyncRun, account: str, playlist: JSON, refs: list[TrackRef]) -> None:
    spotify_id = str(playlist["id"])
    row, created = Playlist.objects.get_or_create(
        spotify_id=spotify_id, defaults={"name": str(playlist.get("name") or spotify_id)[:255]}
    )
    owner = str((playlist.get("owner") or {}).get("id") or "")
    link, _ = SpotifyPlaylist.objects.update_or_create(
        user_id=run.user_id,
        playlist=row,
        defaults={
            "owner_spotify_id": owner[:255],
            "is_owner": owner == account,
            "snapshot_id": str(playlist.get("snapshot_id") or "")[:128],
        },
    )
    if created:
        link.created_playlist = True
        link.save(update_fields=["created_playlist"])
    synced_rows = row.spotify_links.filter(created_playlist=True).exists()
    resolution = tracks_resolve(refs=refs, user_id=run.user_id)
    if synced_rows:  # a catalogue playlist keeps its curated tracks
        row.name = str(playlist.get("name") or row.name)[:255]
        row.save(update_fields=["name", "updated_at"])
        PlaylistTrack.objects.filter(playlist=row).delete()
        track_ids = dict.fromkeys(resolution.track_ids[ref.key] for ref in refs)
        PlaylistTrack.objects.bulk_create(
            [PlaylistTrack(playlist=row, track_id=track_id) for track_id in track_ids]
        )
    run_count(run, playlists=1, playlist_tracks=len(refs), tracks_created=resolution.created)
