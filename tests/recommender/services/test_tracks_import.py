from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from audotics.errors import ImportFailed
from recommender.models import AudioFeatures, Genre, Playlist, PlaylistTrack, Track, TrackGenre
from recommender.services.imports import tracks_import

pytestmark = pytest.mark.django_db

SONGS = "spotify_songs_small.csv"


def _row_counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (Track, AudioFeatures, Genre, TrackGenre, Playlist, PlaylistTrack)
    }


@pytest.fixture
def songs(fixtures_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(fixtures_dir / SONGS, tmp_path / SONGS))


def test_imports_tracks_features_genres_and_playlists(songs: Path) -> None:
    report = tracks_import(path=songs)

    assert report.counts["tracks"] == 35  # 40 rows, 5 repeat a track in another playlist
    assert Track.objects.count() == 35
    assert AudioFeatures.objects.count() == 35
    assert Genre.objects.filter(parent__isnull=True).count() >= 1
    assert all(g.parent is not None for g in Genre.objects.filter(parent__isnull=False))
    track = Track.objects.get(spotify_id="6f807x0ima9a1j3VPbc7VN")
    assert track.artist.name == "Ed Sheeran"
    assert track.audio_features.tempo == pytest.approx(122.036)
    assert {g.name for g in track.genres.all()} == {"pop", "dance pop"}
    assert PlaylistTrack.objects.count() == 40 - _repeats_in_same_playlist(songs)


def _repeats_in_same_playlist(path: Path) -> int:
    import csv

    rows = list(csv.DictReader(path.open()))
    return len(rows) - len({(r["track_id"], r["playlist_id"]) for r in rows})


def test_gzipped_catalogue_is_read(songs: Path, tmp_path: Path) -> None:
    gz = tmp_path / "songs.csv.gz"
    gz.write_bytes(gzip.compress(songs.read_bytes()))

    tracks_import(path=gz)

    assert Track.objects.count() == 35


def test_running_twice_leaves_the_same_rows(songs: Path) -> None:
    tracks_import(path=songs)
    first = _row_counts()
    tracks_import(path=songs)

    assert _row_counts() == first


def test_out_of_range_feature_is_skipped_with_line(songs: Path) -> None:
    lines = songs.read_text().split("\n")
    lines[3] = lines[3].replace(",0.", ",7.", 1)  # danceability 7.x is out of [0, 1]
    songs.write_text("\n".join(lines))

    report = tracks_import(path=songs)

    assert len(report.skipped) == 1
    assert str(report.skipped[0]).startswith(f"{SONGS}:4: danceability=7")


def test_truncated_gzip_fails_and_writes_nothing(songs: Path, tmp_path: Path) -> None:
    data = gzip.compress(songs.read_bytes())
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(data[: len(data) // 2])

    with pytest.raises(ImportFailed, match="damaged or truncated gzip"):
        tracks_import(path=gz)
    assert _row_counts() == dict.fromkeys(_row_counts(), 0)


def test_csv_cut_mid_row_fails(songs: Path) -> None:
    text = songs.read_text()
    songs.write_text(text[: len(text) // 2].rsplit(",", 3)[0])

    with pytest.raises(ImportFailed, match="truncated"):
        tracks_import(path=songs)
    assert Track.objects.count() == 0


def test_unclosed_quote_fails(songs: Path) -> None:
    songs.write_text(songs.read_text() + '4Aa0Aa0Aa0Aa0Aa0Aa0Aa,"never closed\n')

    with pytest.raises(ImportFailed):
        tracks_import(path=songs)
    assert Track.objects.count() == 0
