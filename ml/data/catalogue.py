"""Readers of the Spotify track catalogue (TidyTuesday 2020) and the mood-labelled tracks."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import NamedTuple

from ml.data.files import (
    DEFAULT_MAX_BAD_RATIO,
    ReadResult,
    RowValueError,
    parse_float,
    parse_int,
    read_csv,
    require_text,
)

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
UNIT_FEATURES = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)
MOODS = ("happy", "sad", "energetic", "calm")


class AudioFeatureValues(NamedTuple):
    danceability: float
    energy: float
    key: int
    loudness: float
    mode: int | None
    speechiness: float
    acousticness: float
    instrumentalness: float
    liveness: float
    valence: float
    tempo: float
    time_signature: int | None


class CatalogueRow(NamedTuple):
    track_id: str
    name: str
    artist: str
    popularity: int
    album_id: str
    album_name: str
    release_date: dt.date | None
    release_year: int | None
    playlist_id: str
    playlist_name: str
    genre: str
    subgenre: str
    duration_ms: int
    features: AudioFeatureValues


class MoodRow(NamedTuple):
    track_id: str
    name: str
    album_name: str
    artist: str
    release_date: dt.date | None
    release_year: int | None
    popularity: int
    duration_ms: int
    features: AudioFeatureValues
    mood: str


SONGS_HEADER = (
    "track_id",
    "track_name",
    "track_artist",
    "track_popularity",
    "track_album_id",
    "track_album_name",
    "track_album_release_date",
    "playlist_name",
    "playlist_id",
    "playlist_genre",
    "playlist_subgenre",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
)
MOODS_HEADER = (
    "name",
    "album",
    "artist",
    "id",
    "release_date",
    "popularity",
    "length",
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "loudness",
    "speechiness",
    "tempo",
    "key",
    "time_signature",
    "mood",
)


def spotify_id(value: str, name: str) -> str:
    if not SPOTIFY_ID.match(value):
        raise RowValueError(f"{name}={value!r} is not a Spotify id (22 base-62 characters)")
    return value


def release_date(value: str) -> tuple[dt.date | None, int | None]:
    """``YYYY-MM-DD`` gives a date; ``YYYY`` or ``YYYY-MM`` only a year (no invented day)."""
    text = value.strip()
    if not text or text == "NA":
        return None, None
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 3:
            day = dt.date(numbers[0], numbers[1], numbers[2])
            return day, day.year
        if len(numbers) in (1, 2) and 1800 <= numbers[0] <= 2100:
            return None, numbers[0]
    except ValueError:
        pass
    raise RowValueError(f"release date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")


def audio_features(row: dict[str, str], *, has_mode: bool) -> AudioFeatureValues:
    unit = {f: parse_float(row[f], f, low=0.0, high=1.0) for f in UNIT_FEATURES}
    return AudioFeatureValues(
        key=parse_int(row["key"], "key", low=-1, high=11),
        loudness=parse_float(row["loudness"], "loudness", low=-80.0, high=10.0),
        mode=parse_int(row["mode"], "mode", low=0, high=1) if has_mode else None,
        tempo=parse_float(row["tempo"], "tempo", low=0.0, high=300.0),
        time_signature=(
            parse_int(row["time_signature"], "time_signature", low=0, high=7)
            if "time_signature" in row
            else None
        ),
        **unit,
    )


def _song(row: dict[str, str]) -> CatalogueRow:
    released, year = release_date(row["track_album_release_date"])
    return CatalogueRow(
        track_id=spotify_id(row["track_id"], "track_id"),
        name=require_text(row["track_name"], "track_name"),
        artist=require_text(row["track_artist"], "track_artist"),
        popularity=parse_int(row["track_popularity"], "track_popularity", low=0, high=100),
        album_id=row["track_album_id"].strip(),
        album_name=row["track_album_name"].strip(),
        release_date=released,
        release_year=year,
        playlist_id=spotify_id(row["playlist_id"], "playlist_id"),
        playlist_name=require_text(row["playlist_name"], "playlist_name"),
        genre=require_text(row["playlist_genre"], "playlist_genre").lower(),
        subgenre=require_text(row["playlist_subgenre"], "playlist_subgenre").lower(),
        duration_ms=parse_int(row["duration_ms"], "duration_ms", low=1),
        features=audio_features(row, has_mode=True),
    )


def _mood(row: dict[str, str]) -> MoodRow:
    released, year = release_date(row["release_date"])
    mood = row["mood"].strip().lower()
    if mood not in MOODS:
        raise RowValueError(f"mood={row['mood']!r} is not one of {', '.join(MOODS)}")
    return MoodRow(
        track_id=spotify_id(row["id"], "id"),
        name=require_text(row["name"], "name"),
        album_name=row["album"].strip(),
        artist=require_text(row["artist"], "artist"),
        release_date=released,
        release_year=year,
        popularity=parse_int(row["popularity"], "popularity", low=0, high=100),
        duration_ms=parse_int(row["length"], "length", low=1),
        features=audio_features(row, has_mode=False),
        mood=mood,
    )


def read_songs(path: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO) -> ReadResult[CatalogueRow]:
    """The catalogue CSV (``.csv`` or ``.csv.gz``): one row per (track, playlist, sub-genre)."""
    return read_csv(path, header=SONGS_HEADER, parse=_song, max_bad_ratio=max_bad_ratio)


def read_moods(path: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO) -> ReadResult[MoodRow]:
    return read_csv(path, header=MOODS_HEADER, parse=_mood, max_bad_ratio=max_bad_ratio)
