"""Import mood-labelled tracks: label catalogue tracks, add the ones the catalogue lacks."""

from __future__ import annotations

from pathlib import Path

from ml.data import catalogue
from recommender.models import Track, TrackMood
from recommender.services.imports.common import (
    ImportReport,
    artists_for_names,
    name_keys,
    progress_bar,
    run_import,
    upsert,
)
from recommender.services.imports.tracks import write_audio_features, write_tracks


def moods_import(*, path: Path, progress: bool = False) -> ImportReport:
    """Store each labelled track's mood; tracks not yet in the catalogue are added with features."""

    def work(report: ImportReport) -> None:
        result = catalogue.read_moods(path)
        report.skipped.extend(result.errors)
        rows = {r.track_id: r for r in result.rows}
        existing = set(
            Track.objects.filter(spotify_id__in=list(rows)).values_list("spotify_id", flat=True)
        )
        new = [r for sid, r in rows.items() if sid not in existing]
        with progress_bar(total=3 * len(rows), desc="Moods", enabled=progress) as bar:
            artist_ids = artists_for_names(name_keys([r.artist for r in new]), progress=bar)
            write_tracks(new, artist_ids, bar)
            track_ids = dict(
                Track.objects.filter(spotify_id__in=list(rows)).values_list("spotify_id", "id")
            )
            write_audio_features({r.track_id: r.features for r in new}, track_ids, bar)
            bar.step("moods")
            upsert(
                TrackMood,
                [
                    TrackMood(
                        track_id=track_ids[sid],
                        source=TrackMood.Source.LABEL,
                        mood=r.mood,
                        probability=1.0,
                    )
                    for sid, r in rows.items()
                ],
                progress=bar,
                unique_fields=["track", "source"],
                update_fields=["mood", "probability"],
            )
        report.counts = {
            "mood labels": len(rows),
            "labelled catalogue tracks": len(existing),
            "tracks added": len(new),
        }

    return run_import(kind="moods", source=str(path), work=work)
