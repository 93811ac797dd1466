"""Track tables and the numeric features every content model reads.

A :class:`TrackTable` is the catalogue as arrays: one row per unique track, with its artist, the
majority genre and sub-genre of the playlists it sits in, its playlists (a sparse
tracks x playlists matrix) and the raw feature matrix described by :data:`FEATURES`. It is built
from the catalogue CSV here (``python -m ml``) and from the database by the Django selectors, so
training and evaluation read the same thing either way.

Features are raw (unscaled) in the table; models fit a :class:`Standardizer` on their training
rows and keep its statistics with their weights. ``key`` is circular (B is next to C), so it
enters as the sine and cosine of its angle on the circle of fifths... of semitones; an unknown
key (``-1``) gives ``(0, 0)``. ``mode`` is missing in the mood data set, so the mood detector
uses :data:`MOOD_FEATURES`, the columns both data sets share.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.data.catalogue import AudioFeatureValues, CatalogueRow, MoodRow, read_moods, read_songs
from ml.data.names import normalize_name

#: The columns of :attr:`TrackTable.features`, in order.
FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key_sin",
    "key_cos",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "log_duration",
    "popularity",
    "release_year",
)
#: What the mood data set also has (no ``mode``).
MOOD_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "mode")
#: Spotify's audio features alone (no popularity or year): what a brand-new track always has.
AUDIO_FEATURES: tuple[str, ...] = tuple(
    f for f in FEATURES if f not in ("popularity", "release_year")
)

DEFAULT_YEAR = 2010.0
DEFAULT_POPULARITY = 40.0
DEFAULT_DURATION_MS = 220_000.0


def feature_row(
    values: AudioFeatureValues,
    *,
    duration_ms: float | None,
    popularity: float | None,
    release_year: float | None,
) -> list[float]:
    """One row of :data:`FEATURES` from raw audio features and metadata.

    Missing metadata is filled with a typical value (``mode`` 1, popularity 40, the year 2010, a
    3 min 40 s track) so a track that lacks it can still be embedded.
    """
    angle = 2.0 * np.pi * values.key / 12.0
    key_sin, key_cos = (
        (0.0, 0.0) if values.key < 0 else (float(np.sin(angle)), float(np.cos(angle)))
    )
    return [
        values.danceability,
        values.energy,
        key_sin,
        key_cos,
        values.loudness,
        1.0 if values.mode is None else float(values.mode),
        values.speechiness,
        values.acousticness,
        values.instrumentalness,
        values.liveness,
        values.valence,
        values.tempo,
        float(np.log(duration_ms if duration_ms else DEFAULT_DURATION_MS)),
        DEFAULT_POPULARITY if popularity is None else float(popularity),
        DEFAULT_YEAR if release_year is None else float(release_year),
    ]


def columns(names: Sequence[str]) -> np.ndarray:
    """Indices of ``names`` in :data:`FEATURES`."""
    return np.array([FEATURES.index(n) for n in names], dtype=np.int64)


@dataclass
class Standardizer:
    """Zero mean, unit variance per column; constant columns are left centred only."""

    mean: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=np.float32))

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        return cls(mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((x - self.mean) / self.scale).astype(np.float32)
        return out


@dataclass(frozen=True)
class TrackTable:
    """The catalogue as arrays, one row per unique track (see the module docstring)."""

    track_ids: np.ndarray  # str: Spotify ids
    names: np.ndarray  # str
    artists: np.ndarray  # str: display names
    artist_keys: np.ndarray  # str: normalised names, the join key to Last.fm artists
    features: np.ndarray  # float32 (n, len(FEATURES)), raw
    genres: np.ndarray  # str: majority playlist genre ("" when unknown)
    subgenres: np.ndarray  # str: majority playlist sub-genre ("" when unknown)
    playlists: sp.csr_matrix  # (n, n_playlists) 0/1
    name: str = "catalogue"

    def __post_init__(self) -> None:
        n = len(self.track_ids)
        for label in ("names", "artists", "artist_keys", "genres", "subgenres"):
            if len(getattr(self, label)) != n:
                raise ValueError(f"{label} has {len(getattr(self, label))} rows, expected {n}")
        if self.features.shape != (n, len(FEATURES)):
            raise ValueError(f"features shape {self.features.shape} != ({n}, {len(FEATURES)})")
        if self.playlists.shape[0] != n:
            raise ValueError(f"playlists has {self.playlists.shape[0]} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.track_ids)

    def select(self, rows: np.ndarray) -> TrackTable:
        rows = np.asarray(rows)
        return TrackTable(
            track_ids=self.track_ids[rows],
            names=self.names[rows],
            artists=self.artists[rows],
            artist_keys=self.artist_keys[rows],
            features=self.features[rows],
            genres=self.genres[rows],
            subgenres=self.subgenres[rows],
            playlists=self.playlists[rows].tocsr(),
            name=self.name,
        )

    def artist_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, unique_keys)``: each track's artist as an integer group id."""
        keys, codes = np.unique(self.artist_keys, return_inverse=True)
        return codes.astype(np.int64), keys

    @classmethod
    def build(cls, tracks: Iterable[TrackRecord], *, name: str = "catalogue") -> TrackTable:
        """From one record per (track, playlist); repeated tracks are merged."""
        order: list[str] = []
        first: dict[str, TrackRecord] = {}
        genres: dict[str, Counter[str]] = defaultdict(Counter)
        subgenres: dict[str, Counter[str]] = defaultdict(Counter)
        playlists: dict[str, set[str]] = defaultdict(set)
        for record in tracks:
            if record.track_id not in first:
                first[record.track_id] = record
                order.append(record.track_id)
            if record.genre:
                genres[record.track_id][record.genre] += 1
            if record.subgenre:
                subgenres[record.track_id][record.subgenre] += 1
            if record.playlist_id:
                playlists[record.track_id].add(record.playlist_id)
        playlist_ids = sorted({p for ps in playlists.values() for p in ps})
        p_index = {p: k for k, p in enumerate(playlist_ids)}
        rows = [r for r, t in enumerate(order) for _ in playlists[t]]
        cols = [p_index[p] for t in order for p in sorted(playlists[t])]
        matrix = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(order), len(playlist_ids)),
        )
        recs = [first[t] for t in order]
        return cls(
            track_ids=np.array(order, dtype=object).astype(str),
            names=np.array([r.name for r in recs], dtype=str),
            artists=np.array([r.artist for r in recs], dtype=str),
            artist_keys=np.array([normalize_name(r.artist) for r in recs], dtype=str),
            features=np.array([r.features for r in recs], dtype=np.float32).reshape(
                len(recs), len(FEATURES)
            ),
            genres=np.array([_majority(genres[t]) for t in order], dtype=str),
            subgenres=np.array([_majority(subgenres[t]) for t in order], dtype=str),
            playlists=matrix,
            name=name,
        )


@dataclass(frozen=True)
class TrackRecord:
    """One track as it sits in one playlist (genre and sub-genre are the playlist's)."""

    track_id: str
    name: str
    artist: str
    features: list[float]
    genre: str = ""
    subgenre: str = ""
    playlist_id: str = ""


def _majority(counts: Counter[str]) -> str:
    if not counts:
        return ""
    best = max(counts.values())
    return min(g for g, c in counts.items() if c == best)  # ties: alphabetical, deterministic


def record_from_row(row: CatalogueRow) -> TrackRecord:
    return TrackRecord(
        track_id=row.track_id,
        name=row.name,
        artist=row.artist,
        features=feature_row(
            row.features,
            duration_ms=row.duration_ms,
            popularity=row.popularity,
            release_year=row.release_year,
        ),
        genre=row.genre,
        subgenre=row.subgenre,
        playlist_id=row.playlist_id,
    )


def load_catalogue(path: Path | str) -> TrackTable:
    """The TidyTuesday catalogue CSV (``.csv`` or ``.csv.gz``) as a :class:`TrackTable`."""
    path = Path(path)
    result = read_songs(path)
    return TrackTable.build((record_from_row(r) for r in result.rows), name=path.name)


@dataclass(frozen=True)
class MoodSet:
    """Mood-labelled tracks: raw :data:`FEATURES` rows (``mode`` filled) and their labels."""

    track_ids: np.ndarray
    features: np.ndarray  # float32 (n, len(FEATURES))
    labels: np.ndarray  # str, one of ml.data.catalogue.MOODS
    artists: np.ndarray


def mood_set_from_rows(rows: Iterable[MoodRow]) -> MoodSet:
    rows = list(rows)
    return MoodSet(
        track_ids=np.array([r.track_id for r in rows], dtype=str),
        features=np.array(
            [
                feature_row(
                    r.features,
                    duration_ms=r.duration_ms,
                    popularity=r.popularity,
                    release_year=r.release_year,
                )
                for r in rows
            ],
            dtype=np.float32,
        ).reshape(len(rows), len(FEATURES)),
        labels=np.array([r.mood for r in rows], dtype=str),
        artists=np.array([normalize_name(r.artist) for r in rows], dtype=str),
    )


def load_moods(path: Path | str) -> MoodSet:
    return mood_set_from_rows(read_moods(Path(path)).rows)


#: Where the bundled data sets sit in a checkout (``ml`` stays free of Django settings).
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_CATALOGUE = DATA_DIR / "spotify-songs-tidytuesday-2020" / "spotify_songs.csv.gz"
DEFAULT_MOODS = DATA_DIR / "spotify-moods-686" / "data_moods.csv"
DEFAULT_GTZAN = DATA_DIR / "gtzan-features-30sec" / "features_30_sec.csv"
