"""Reads of the Spotify integration: what the Spotify page shows."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.models import ListeningEvent
from spotify_sync.models import SavedTrack, SpotifyConnection, SpotifyPlaylist, SyncRun, TopItem


@dataclass(frozen=True)
class SpotifyDataCounts:
    spotify_plays: int
    export_plays: int
    playlists: int
    saved_tracks: int
    top_items: int

    @property
    def total(self) -> int:
        return (
            self.spotify_plays
            + self.export_plays
            + self.playlists
            + self.saved_tracks
            + self.top_items
        )


def connection_get(*, user_id: int) -> SpotifyConnection | None:
    return SpotifyConnection.objects.filter(user_id=user_id).first()


def sync_run_latest(*, user_id: int) -> SyncRun | None:
    return SyncRun.objects.filter(user_id=user_id).order_by("-started_at", "-pk").first()


def spotify_data_counts(*, user_id: int) -> SpotifyDataCounts:
    events = ListeningEvent.objects.filter(user_id=user_id)
    return SpotifyDataCounts(
        spotify_plays=events.filter(source=ListeningEvent.Source.SPOTIFY).count(),
        export_plays=events.filter(source=ListeningEvent.Source.EXPORT).count(),
        playlists=SpotifyPlaylist.objects.filter(user_id=user_id).count(),
        saved_tracks=SavedTrack.objects.filter(user_id=user_id).count(),
        top_items=TopItem.objects.filter(user_id=user_id).count(),
    )
