"""The bias report's arithmetic on served lists (no database, no model: testable by hand).

Definitions (also shown on the dashboard and in the JSON):

* popularity bias: mean popularity *percentile* of recommended tracks within the catalogue
  (mid-rank, 0-100): 50 means as popular as a random catalogue track, higher means the lists
  lean to hits;
* genre diversity: per list, distinct top-level genres among its tracks divided by the most
  it could have (its tracks with a genre, or the catalogue's genre count if fewer); averaged;
* artist diversity: per list, distinct artists divided by list length; averaged;
* coverage: distinct tracks across all sampled lists divided by catalogue tracks (and the same
  for artists): how much of the catalogue the recommendations reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFINITIONS = {
    "popularity_bias": "Mean popularity percentile (mid-rank, 0-100) of recommended tracks "
    "within the catalogue; 50 = no lean towards popular tracks.",
    "genre_diversity": "Per list: distinct top-level genres divided by the most possible (its "
    "tracks with a genre, capped by the catalogue's genre count); mean over lists, 0-1.",
    "artist_diversity": "Per list: distinct artists divided by list length; mean over lists, 0-1.",
    "coverage": "Distinct tracks across the sampled lists divided by tracks in the catalogue.",
    "artist_coverage": "Distinct artists across the sampled lists divided by catalogue artists "
    "with tracks.",
    "sample": "The current top-10 lists of recently active listeners (feedback or plays in the "
    "last 30 days), topped up with listeners who have listening history.",
}


@dataclass(frozen=True)
class ServedTrack:
    spotify_id: str
    artist: str
    popularity: int | None


@dataclass(frozen=True)
class BiasFigures:
    popularity_bias: float | None
    mean_popularity: float | None
    genre_diversity: float | None
    artist_diversity: float | None
    coverage: float | None
    artist_coverage: float | None
    popularity_deciles: list[float]


def popularity_percentiles(values: Sequence[float], catalogue: Sequence[float]) -> np.ndarray:
    """Mid-rank percentile (0-100) of each value within the catalogue's popularity values."""
    ranked = np.sort(np.asarray(catalogue, dtype=np.float64))
    if ranked.size == 0:
        return np.zeros(0)
    points = np.asarray(values, dtype=np.float64)
    below = np.searchsorted(ranked, points, side="left")
    through = np.searchsorted(ranked, points, side="right")
    result: np.ndarray = 100.0 * (below + through) / 2.0 / ranked.size
    return result


def _genre_share(tracks: Sequence[ServedTrack], genres_of: Mapping[str, frozenset[str]],
                 catalogue_genres: int) -> float | None:  # fmt: skip
    with_genre = [genres_of[t.spotify_id] for t in tracks if genres_of.get(t.spotify_id)]
    most = min(len(with_genre), catalogue_genres)
    if most == 0:
        return None
    return min(1.0, len(frozenset().union(*with_genre)) / most)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


def bias_figures(
    lists: Sequence[Sequence[ServedTrack]],
    *,
    catalogue_popularity: Sequence[float],
    genres_of: Mapping[str, frozenset[str]],
    catalogue_tracks: int,
    catalogue_artists: int,
    catalogue_genres: int,
) -> BiasFigures:
    lists = [tracks for tracks in lists if tracks]
    served = [t for tracks in lists for t in tracks]
    popular = [float(t.popularity) for t in served if t.popularity is not None]
    ranks = popularity_percentiles(popular, catalogue_popularity)
    deciles = np.zeros(10)
    if ranks.size:
        np.add.at(deciles, np.minimum((ranks // 10).astype(int), 9), 1)
        deciles = 100.0 * deciles / ranks.size
    tracks = {t.spotify_id for t in served}
    artists = {t.artist for t in served}
    return BiasFigures(
        popularity_bias=round(float(ranks.mean()), 2) if ranks.size else None,
        mean_popularity=round(float(np.mean(popular)), 2) if popular else None,
        genre_diversity=_mean([_genre_share(t, genres_of, catalogue_genres) for t in lists]),
        artist_diversity=_mean([len({x.artist for x in t}) / len(t) for t in lists]),
        coverage=round(len(tracks) / catalogue_tracks, 5) if catalogue_tracks and lists else None,
        artist_coverage=(
            round(len(artists) / catalogue_artists, 5) if catalogue_artists and lists else None
        ),
        popularity_deciles=[round(float(v), 2) for v in deciles],
    )
