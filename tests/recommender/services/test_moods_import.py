from __future__ import annotations

from pathlib import Path

import pytest

from audotics.errors import ImportFailed
from recommender.models import AudioFeatures, Track, TrackMood
from recommender.services.imports import moods_import, tracks_import

pytestmark = pytest.mark.django_db


def test_labels_catalogue_tracks_and_adds_missing_ones(fixtures_dir: Path) -> None:
    tracks_import(path=fixtures_dir / "spotify_songs_small.csv")
    before = Track.objects.count()

    report = moods_import(path=fixtures_dir / "data_moods_small.csv")

    labelled = report.counts["labelled catalogue tracks"]
    assert labelled == 2
    assert Track.objects.count() == before + report.counts["tracks added"]
    assert TrackMood.objects.filter(source="label").count() == report.counts["mood labels"]
    added = Track.objects.exclude(playlists__isnull=False).first()
    assert added is not None
    assert added.audio_features.mode is None  # the moods file has no mode column
    assert set(TrackMood.objects.values_list("mood", flat=True)) <= {
        "happy",
        "sad",
        "energetic",
        "calm",
    }


def test_running_twice_leaves_the_same_rows(fixtures_dir: Path) -> None:
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    counts = (Track.objects.count(), AudioFeatures.objects.count(), TrackMood.objects.count())
    moods_import(path=fixtures_dir / "data_moods_small.csv")

    assert (
        Track.objects.count(),
        AudioFeatures.objects.count(),
        TrackMood.objects.count(),
    ) == counts


def test_unknown_mood_is_skipped(fixtures_dir: Path, tmp_path: Path) -> None:
    text = (fixtures_dir / "data_moods_small.csv").read_bytes().decode()
    lines = text.split("\r\n")
    lines[2] = lines[2].rsplit(",", 1)[0] + ",Furious"
    path = tmp_path / "moods.csv"
    path.write_bytes("\r\n".join(lines).encode())

    report = moods_import(path=path)

    assert [str(e) for e in report.skipped] == [
        "moods.csv:3: mood='Furious' is not one of happy, sad, energetic, calm"
    ]


def test_wrong_file_fails_in_one_line(fixtures_dir: Path) -> None:
    with pytest.raises(ImportFailed, match="header is track_id"):
        moods_import(path=fixtures_dir / "spotify_songs_small.csv")
