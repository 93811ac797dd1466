"""Deleting every Spotify-derived row of a user (Spotify's developer policy, on disconnect).

What goes: the user's plays from Spotify (API and data exports), their top lists, saved
tracks, playlist links, sync cursors, sync runs and export audit rows; playlists their sync
created that nobody else's sync still links; and catalogue tracks and artists their Spotify
data created that nothing else refers to any more. What stays: the catalogue as it was, other
users' data, and the user's own plays in rooms and in the app.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError

from recommender.models import Artist, ImportRun, ListeningEvent, Playlist, Track
from spotify_sync.models import (
    SavedTrack,
    SpotifyArtist,
    SpotifyPlaylist,
    SpotifyTrack,
    SyncCursor,
    SyncRun,
    TopItem,
)

EXPORT_IMPORT_KIND = "spotify_export"
SPOTIFY_SOURCES = (ListeningEvent.Source.SPOTIFY, ListeningEvent.Source.EXPORT)


def export_audit_source(*, user_id: int, names: str) -> str:
    """``ImportRun.source`` of a user's export import; the prefix finds it again on delete."""
    return f"user:{user_id} {names}"[:1024]


def _delete(counts: Counter[str], queryset: QuerySet[Model]) -> None:
    _, per_model = queryset.delete()
    counts.update({label: n for label, n in per_model.items() if n})


def _delete_unused(counts: Counter[str], queryset: QuerySet[Model]) -> None:
    """Delete the rows; one that another app still protects (say, a room's queue) stays."""
    try:
        with transaction.atomic():
            _delete(counts, queryset)
        return
    except (ProtectedError, RestrictedError):
        pass
    for row in queryset:
        try:
            with transaction.atomic():
                _, per_model = row.delete()
        except (ProtectedError, RestrictedError):
            continue
        counts.update({label: n for label, n in per_model.items() if n})


@transaction.atomic
def spotify_data_delete(*, user_id: int) -> dict[str, int]:
    """Delete the rows; returns how many of each model went, by model label."""
    counts: Counter[str] = Counter()
    _delete(counts, ListeningEvent.objects.filter(user_id=user_id, source__in=SPOTIFY_SOURCES))
    for model in (TopItem, SavedTrack, SyncCursor, SyncRun):
        _delete(counts, model.objects.filter(user_id=user_id))
    _delete(
        counts,
        ImportRun.objects.filter(
            kind=EXPORT_IMPORT_KIND,
            source__startswith=export_audit_source(user_id=user_id, names=""),
        ),
    )
    _playlists_delete(counts, user_id)
    _created_catalogue_delete(counts, user_id)
    return dict(counts)


def _playlists_delete(counts: Counter[str], user_id: int) -> None:
    links = SpotifyPlaylist.objects.filter(user_id=user_id)
    created = set(links.filter(created_playlist=True).values_list("playlist_id", flat=True))
    _delete(counts, links)
    still_linked = set(
        SpotifyPlaylist.objects.filter(playlist_id__in=created).values_list(
            "playlist_id", flat=True
        )
    )
    _delete(counts, Playlist.objects.filter(pk__in=created - still_linked))
    # Another user's sync still lists the playlist: it now owns the row (and its deletion).
    for playlist_id in still_linked:
        heir = SpotifyPlaylist.objects.filter(playlist_id=playlist_id).order_by("pk").first()
        if heir is not None:
            heir.created_playlist = True
            heir.save(update_fields=["created_playlist"])


def _created_catalogue_delete(counts: Counter[str], user_id: int) -> None:
    """Tracks, then artists, that this user's Spotify data created and nothing else uses."""
    track_ids = set(
        SpotifyTrack.objects.filter(created_for_id=user_id).values_list("track_id", flat=True)
    )
    unused_tracks = Track.objects.filter(
        pk__in=track_ids,
        listeningevent__isnull=True,
        playlisttrack__isnull=True,
        feedback__isnull=True,
        savedtrack__isnull=True,
        topitem__isnull=True,
    )
    _delete_unused(counts, unused_tracks)
    SpotifyTrack.objects.filter(created_for_id=user_id).update(created_for=None)
    artist_ids = set(
        SpotifyArtist.objects.filter(created_for_id=user_id).values_list("artist_id", flat=True)
    )
    unused_artists = Artist.objects.filter(
        pk__in=artist_ids,
        tracks__isnull=True,
        play_counts__isnull=True,
        topitem__isnull=True,
        artisttag__isnull=True,
        usertagassignment__isnull=True,
    )
    _delete_unused(counts, unused_artists)
    SpotifyArtist.objects.filter(created_for_id=user_id).update(created_for=None)
