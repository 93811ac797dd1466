"""Importing a Spotify data export: plays become listening events, with no API at all.

One transaction and an ``ImportRun`` audit row, like every importer: a damaged file writes
nothing. Plays shorter than ``SPOTIFY_MIN_MS_PLAYED`` (30 s, Spotify's own threshold for a
stream) are skipped and counted, as are podcast episodes and audiobooks.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from audotics.errors import NotFound
from recommender.models import ListeningEvent, User
from recommender.services.imports.common import ImportReport, progress_bar, run_import
from recommender.serving.state import listener_generation_bump_on_commit
from spotify_sync.exports import ExportFile, ExportPlay, export_files_read
from spotify_sync.services.deletion import EXPORT_IMPORT_KIND, export_audit_source
from spotify_sync.services.history import events_insert
from spotify_sync.services.matching import ArtistRef, TrackRef, tracks_resolve

BATCH = 2000


def _ref(play: ExportPlay) -> TrackRef:
    return TrackRef(
        name=play.track_name,
        artist=ArtistRef(name=play.artist_name),
        spotify_id=play.spotify_id,
        album_name=play.album_name,
    )


def export_import(
    *, user_id: int, files: Sequence[ExportFile], progress: bool = False
) -> ImportReport:
    """Import the streaming history in ``files`` (JSON files or the export's zip) for a user."""
    if not User.objects.filter(pk=user_id).exists():  # before reading megabytes for nobody
        raise NotFound(f"no user with id {user_id}")
    names = ", ".join(f.name for f in files)

    def work(report: ImportReport) -> None:
        read = export_files_read(
            files,
            min_ms_played=settings.SPOTIFY_MIN_MS_PLAYED,
            max_bytes=settings.SPOTIFY_EXPORT_MAX_BYTES,
        )
        report.skipped.extend(read.errors)
        added = created = 0
        with progress_bar(total=len(read.plays), desc="spotify export", enabled=progress) as bar:
            for start in range(0, len(read.plays), BATCH):
                batch = read.plays[start : start + BATCH]
                resolution = tracks_resolve(refs=[_ref(p) for p in batch], user_id=user_id)
                events = [
                    ListeningEvent(
                        user_id=user_id,
                        track_id=resolution.track_ids[_ref(play).key],
                        played_at=play.played_at,
                        ms_played=play.ms_played,
                        source=ListeningEvent.Source.EXPORT,
                    )
                    for play in batch
                ]
                added += events_insert(user_id=user_id, events=events)
                created += resolution.created
                bar.advance(len(batch))
        listener_generation_bump_on_commit(user_id=user_id)  # the models fold the plays in
        report.counts.update(
            {
                "plays read": read.counts["records"],
                "plays imported": added,
                "already imported": len(read.plays) - added,
                "short plays skipped": read.counts["short"],
                "podcasts and other non-music skipped": read.counts["not_music"],
                "tracks created": created,
            }
        )
        if read.counts["short"]:
            seconds = settings.SPOTIFY_MIN_MS_PLAYED // 1000
            report.notes.append(
                f"{read.counts['short']} plays shorter than {seconds} s were skipped "
                "(Spotify does not count them as streams either)"
            )

    return run_import(
        kind=EXPORT_IMPORT_KIND,
        source=export_audit_source(user_id=user_id, names=names),
        work=work,
    )
