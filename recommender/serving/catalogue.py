"""What can be served: catalogue artists the hybrid knows, and their playable tracks.

Built once per process and hybrid version (about half a second over the demo catalogue), so a
request never queries tracks: everything it renders comes from here.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from recommender.models import Artist, Track, TrackGenre

TRACKS_PER_ARTIST = 8


class TrackCard(TypedDict):
    spotify_id: str
    name: str
    artist: str
    album: str
    release_year: int | None
    popularity: int | None
    duration_ms: int | None


@dataclass
class ServingCatalogue:
    """Servable artist columns of one hybrid version and their tracks, most popular first."""

    version: str
    servable: np.ndarray
    tracks: dict[int, list[TrackCard]]  # artist column -> tracks
    column_of_track: dict[str, int]  # spotify id -> artist column (only servable artists)
    artist_of_track: dict[str, int]  # spotify id -> Artist pk (every track)
    genres_of_track: dict[str, frozenset[int]]
    artist_names: dict[Any, str]  # raw artist id -> name (every artist the model knows)
    artist_pk_of_column: dict[int, int] = field(default_factory=dict)


def _raw(lastfm_id: int | None, pk: int) -> int:
    return int(lastfm_id) if lastfm_id is not None else -int(pk)


def catalogue_build(*, version: str, item_index: dict[Any, int]) -> ServingCatalogue:
    """Read the catalogue once and index it by the model's artist columns."""
    names: dict[Any, str] = {}
    pk_of_column: dict[int, int] = {}
    for pk, lastfm_id, name in Artist.objects.values_list("pk", "lastfm_id", "name").iterator():
        raw = _raw(lastfm_id, pk)
        col = item_index.get(raw)
        if col is not None:
            names[raw] = name
            pk_of_column[col] = pk
    genres: dict[str, set[int]] = defaultdict(set)
    for spotify_id, genre_id in TrackGenre.objects.values_list("track__spotify_id", "genre_id"):
        genres[spotify_id].add(genre_id)
    tracks: dict[int, list[TrackCard]] = defaultdict(list)
    column_of_track: dict[str, int] = {}
    artist_of_track: dict[str, int] = {}
    rows = Track.objects.order_by("-popularity", "pk").values_list(
        "spotify_id", "name", "artist_id", "artist__lastfm_id", "artist__name", "album_name",
        "release_year", "popularity", "duration_ms",
    )  # fmt: skip
    for sid, name, artist_pk, lastfm_id, artist, album, year, pop, duration in rows.iterator():
        artist_of_track[sid] = artist_pk
        col = item_index.get(_raw(lastfm_id, artist_pk))
        if col is None:
            continue
        column_of_track[sid] = col
        if len(tracks[col]) < TRACKS_PER_ARTIST:
            tracks[col].append(
                TrackCard(
                    spotify_id=sid,
                    name=name,
                    artist=artist,
                    album=album,
                    release_year=year,
                    popularity=pop,
                    duration_ms=duration,
                )
            )
    servable = np.array(sorted(tracks), dtype=np.int64)
    return ServingCatalogue(
        version=version,
        servable=servable,
        tracks=dict(tracks),
        column_of_track=column_of_track,
        artist_of_track=artist_of_track,
        genres_of_track={k: frozenset(v) for k, v in genres.items()},
        artist_names=names,
        artist_pk_of_column=pk_of_column,
    )


_lock = threading.Lock()
_cached: dict[str, ServingCatalogue] = {}


def serving_catalogue(*, version: str, item_index: dict[Any, int]) -> ServingCatalogue:
    """This process's catalogue for a model version such as ``hybrid:3`` (built once)."""
    found = _cached.get(version)
    if found is not None:
        return found
    with _lock:
        found = _cached.get(version)
        if found is None:
            found = catalogue_build(version=version, item_index=item_index)
            stale = [k for k in _cached if k.split(":", 1)[0] == version.split(":", 1)[0]]
            for key in stale:
                del _cached[key]
            _cached[version] = found
    return found


def serving_catalogue_clear() -> None:
    """Forget the process's catalogues (tests, and after a catalogue import)."""
    _cached.clear()
