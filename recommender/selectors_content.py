"""Reads for the content model: the catalogue, the mood labels and predictions, as arrays.

``track_table_build`` returns what ``ml.content.features.load_catalogue`` returns for the
imported CSV (one row per track with audio features, majority genre and sub-genre, playlists),
so ``manage.py train content`` and ``python -m ml`` train the same code on the same structure.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from django.db.models import Count, Max, QuerySet

from audotics.errors import ApplicationError, NotFound
from ml.artifacts import ModelStoreError
from ml.base import ModelLoadError
from ml.content.estimator import ContentRecommender
from ml.content.features import FEATURES, MoodSet, TrackTable, feature_row
from ml.content.index import Filters, Neighbour, VectorIndex
from ml.data.catalogue import AudioFeatureValues
from ml.data.interactions import ITEM_NAME_KEYS, Interactions
from recommender.models import (
    Artist,
    AudioFeatures,
    PlaylistTrack,
    Tag,
    Track,
    TrackGenre,
    TrackMood,
)
from recommender.selectors_ml import interaction_matrix_build, model_registry

CONTENT = "content"

_FEATURE_FIELDS = AudioFeatureValues._fields  # the model fields have the same names


def track_feature_rows(tracks: QuerySet[Track]) -> tuple[list[int], np.ndarray]:
    """``(track pks, raw FEATURES rows)`` for the given tracks that have audio features."""
    rows = (
        AudioFeatures.objects.filter(track__in=tracks)
        .order_by("track_id")
        .values_list(
            "track_id",
            *_FEATURE_FIELDS,
            "track__duration_ms",
            "track__popularity",
            "track__release_year",
        )
    )
    pks: list[int] = []
    features: list[list[float]] = []
    for pk, *values in rows:
        audio = AudioFeatureValues(*values[: len(_FEATURE_FIELDS)])
        duration, popularity, year = values[len(_FEATURE_FIELDS) :]
        pks.append(pk)
        features.append(
            feature_row(audio, duration_ms=duration, popularity=popularity, release_year=year)
        )
    return pks, np.asarray(features, dtype=np.float32).reshape(len(pks), len(FEATURES))


def _track_genres(pks: Iterable[int]) -> tuple[dict[int, str], dict[int, str]]:
    """Each track's genre and sub-genre (sub-genres are genres with a parent)."""
    wanted = set(pks)
    genres: dict[int, Counter[str]] = defaultdict(Counter)
    subgenres: dict[int, Counter[str]] = defaultdict(Counter)
    for track_id, name, parent in TrackGenre.objects.values_list(
        "track_id", "genre__name", "genre__parent__name"
    ):
        if track_id not in wanted:
            continue
        if parent is None:
            genres[track_id][name] += 1
        else:
            subgenres[track_id][name] += 1
            genres[track_id][parent] += 0  # a sub-genre implies its parent, if nothing else
    pick = {t: min(c, key=lambda g: (-c[g], g)) for t, c in genres.items() if c}
    sub = {t: min(c, key=lambda g: (-c[g], g)) for t, c in subgenres.items() if c}
    return pick, sub


def track_table_build() -> TrackTable:
    """Every track with audio features, as the content model's :class:`TrackTable`."""
    pks, features = track_feature_rows(Track.objects.all())
    meta = {
        pk: (sid, name, artist, key)
        for pk, sid, name, artist, key in Track.objects.values_list(
            "pk", "spotify_id", "name", "artist__name", "artist__name_key"
        )
    }
    genres, subgenres = _track_genres(pks)
    position = {pk: row for row, pk in enumerate(pks)}
    links = [
        (position[t], p)
        for t, p in PlaylistTrack.objects.values_list("track_id", "playlist_id")
        if t in position
    ]
    playlist_ids = sorted({p for _, p in links})
    column = {p: c for c, p in enumerate(playlist_ids)}
    playlists = sp.csr_matrix(
        (np.ones(len(links), np.float32), ([r for r, _ in links], [column[p] for _, p in links])),
        shape=(len(pks), len(playlist_ids)),
    )
    return TrackTable(
        track_ids=np.array([meta[pk][0] for pk in pks], dtype=str),
        names=np.array([meta[pk][1] for pk in pks], dtype=str),
        artists=np.array([meta[pk][2] for pk in pks], dtype=str),
        artist_keys=np.array([meta[pk][3] for pk in pks], dtype=str),
        features=features,
        genres=np.array([genres.get(pk, "") for pk in pks], dtype=str),
        subgenres=np.array([subgenres.get(pk, "") for pk in pks], dtype=str),
        playlists=playlists,
        name="database",
    )


def mood_set_build() -> MoodSet | None:
    """The curated mood labels (``TrackMood`` source label) of tracks with audio features."""
    labels = dict(
        TrackMood.objects.filter(source=TrackMood.Source.LABEL).values_list("track_id", "mood")
    )
    if not labels:
        return None
    pks, features = track_feature_rows(Track.objects.filter(pk__in=labels))
    meta = dict(Track.objects.filter(pk__in=pks).values_list("pk", "spotify_id"))
    keys = dict(Track.objects.filter(pk__in=pks).values_list("pk", "artist__name_key"))
    return MoodSet(
        track_ids=np.array([meta[pk] for pk in pks], dtype=str),
        features=features,
        labels=np.array([labels[pk] for pk in pks], dtype=str),
        artists=np.array([keys[pk] for pk in pks], dtype=str),
    )


def content_interactions_build() -> Interactions:
    """``interaction_matrix_build()`` plus each artist's name key (the catalogue join key)."""
    data = interaction_matrix_build()
    by_lastfm = dict(
        Artist.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", "name_key")
    )
    by_pk = dict(Artist.objects.filter(lastfm_id__isnull=True).values_list("pk", "name_key"))
    keys = [
        by_lastfm.get(int(raw), "") if raw > 0 else by_pk.get(-int(raw), "")
        for raw in data.item_ids.tolist()
    ]
    return replace(data, extras={**data.extras, ITEM_NAME_KEYS: np.array(keys, dtype=str)})


# ---- serving: similarity and cold start ----------------------------------------------------


class ModelNotReady(ApplicationError):
    code = "model_not_ready"
    http_status = 503


def content_model() -> ContentRecommender:
    """The active content model of this process (reloaded when its ACTIVE pointer moves)."""
    try:
        model = model_registry().get(CONTENT)
    except (ModelLoadError, ModelStoreError) as exc:
        raise ModelNotReady(
            f"the content model is not trained yet ({exc}); run manage.py train content"
        ) from None
    if not isinstance(model, ContentRecommender):
        raise ModelNotReady(f"the active {CONTENT!r} model is a {model.model_type!r} model")
    return model


@dataclass
class _Overlay:
    """Tracks added since the model was trained, embedded by its network (no retraining)."""

    model: ContentRecommender
    stamp: tuple[int, int | None]
    checked_at: float
    index: VectorIndex | None


_overlays: dict[int, _Overlay] = {}
OVERLAY_CHECK_SECONDS = 5.0


def _features_stamp() -> tuple[int, int | None]:
    agg = AudioFeatures.objects.aggregate(n=Count("pk"), last=Max("pk"))
    return int(agg["n"]), agg["last"]


def new_tracks_index(model: ContentRecommender) -> VectorIndex | None:
    """An index of the tracks with audio features that ``model`` has not seen (``None``: none)."""
    now = time.monotonic()
    entry = _overlays.get(id(model))
    if (
        entry is not None
        and entry.model is model
        and now - entry.checked_at < OVERLAY_CHECK_SECONDS
    ):
        return entry.index
    stamp = _features_stamp()
    if entry is not None and entry.model is model and entry.stamp == stamp:
        entry.checked_at = now
        return entry.index
    known = set(model.track_ids_.tolist())
    fresh = [
        pk
        for pk, sid in Track.objects.filter(audio_features__isnull=False).values_list(
            "pk", "spotify_id"
        )
        if sid not in known
    ]
    index = None
    if fresh:
        pks, features = track_feature_rows(Track.objects.filter(pk__in=fresh))
        rows = Track.objects.filter(pk__in=pks).order_by("pk")
        meta = list(rows.values_list("spotify_id", "artist__name_key", "prediction__genre"))
        index = VectorIndex(
            np.array([m[0] for m in meta], dtype=str),
            model.embed_tracks(features),
            artist_keys=np.array([m[1] for m in meta], dtype=str),
            genres=np.array([m[2] or "" for m in meta], dtype=str),
            moods=np.full(len(meta), "", dtype=str),
            tempo=features[:, FEATURES.index("tempo")],
        )
    _overlays.clear()  # one model per process: forget older versions' overlays
    _overlays[id(model)] = _Overlay(model, stamp, now, index)
    return index


def _tracks_by_spotify_id(neighbours: Sequence[Neighbour]) -> list[tuple[Track, float]]:
    ids = [nb.id for nb in neighbours]
    tracks = Track.objects.select_related("artist").in_bulk(ids, field_name="spotify_id")
    return [(tracks[nb.id], nb.score) for nb in neighbours if nb.id in tracks]


def similar_tracks(
    *, track: Track, n: int = 10, filters: Filters | None = None
) -> list[tuple[Track, float]]:
    """The ``n`` catalogue tracks nearest to ``track`` by content, best first.

    A track the model has not seen (added after training) is embedded from its audio features
    on the spot, and such new tracks are candidates too.
    """
    model = content_model()
    overlay = new_tracks_index(model)
    index = model.track_index()
    if track.spotify_id in index.position:
        query = index.vector(track.spotify_id)
    elif overlay is not None and track.spotify_id in overlay.position:
        query = overlay.vector(track.spotify_id)
    else:
        raise NotFound(f"track {track.spotify_id} has no audio features to compare")
    found = index.search(query, n, filters=filters, exclude=(track.spotify_id,))
    if overlay is not None:
        found += overlay.search(query, n, filters=filters, exclude=(track.spotify_id,))
        found = sorted(found, key=lambda nb: -nb.score)[:n]
    return _tracks_by_spotify_id(found)


def _item_raw_id(artist: Artist) -> int:
    return artist.lastfm_id if artist.lastfm_id is not None else -artist.pk


def tracks_for_seeds(
    *,
    artists: Sequence[Artist] = (),
    tags: Sequence[Tag] = (),
    genre: str | None = None,
    mood: str | None = None,
    n: int = 20,
    per_artist: int = 2,
) -> list[tuple[Track, float]]:
    """Content-based tracks for a listener known only by a few picks (a sign-up page, a guest).

    Seed artists and tags score artists through the content model (tag profiles, audio, a
    popularity prior); the seeds' own tracks give an audio profile that also finds tracks of
    artists no one has listened to; a genre or mood restricts the result. At most
    ``per_artist`` tracks per artist.
    """
    model = content_model()
    index = model.track_index()
    scores: dict[str, float] = {}
    known = [a for a in artists if _item_raw_id(a) in model.item_index_]
    artist_scores = np.zeros(model.n_items, dtype=np.float32)
    if known:
        history = model.history_matrix([{_item_raw_id(a): 1.0 for a in known}])
        artist_scores = model.scores_from_history(history)[0]
    if tags:
        raw = [t.lastfm_id if t.lastfm_id is not None else -t.pk for t in tags]
        artist_scores = artist_scores + model.tag_scores(raw)
    filters = Filters(genre=genre or None, mood=mood or None)
    if known or tags:
        # only artists with catalogue tracks can give tracks: rank those
        linked = np.flatnonzero(np.linalg.norm(model.item_audio_, axis=1) > 0)
        top = linked[np.argsort(-artist_scores[linked])[:200]]
        keys = _name_keys(model.item_ids_[top])
        wanted = set(keys.values())
        allowed = index.allowed(filters)
        track_rows = defaultdict(list)
        for row, key in enumerate(model.track_artist_keys_.tolist()):
            if key in wanted and (allowed is None or allowed[row]):
                track_rows[key].append(row)
        for col, raw in zip(top.tolist(), model.item_ids_[top].tolist(), strict=True):
            own = sorted(
                track_rows.get(keys.get(raw, ""), []), key=lambda r: -model.track_popularity_[r]
            )
            for rank, row in enumerate(own[:per_artist]):
                scores[str(model.track_ids_[row])] = float(artist_scores[col]) - 0.01 * rank
    profile = _audio_profile(model, [a.name_key for a in artists], filters)
    if profile is not None:
        base = min(scores.values(), default=1.0)
        for nb in index.search(profile, 3 * n, filters=filters):
            scores.setdefault(nb.id, base * 0.5 + 0.5 * nb.score)
    if not scores and (genre or mood):
        allowed = index.allowed(filters)
        matching = np.flatnonzero(allowed if allowed is not None else np.ones(len(index), bool))
        for row in matching[np.argsort(-model.track_popularity_[matching])][: 3 * n]:
            scores[str(model.track_ids_[row])] = float(model.track_popularity_[row]) / 100.0
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    chosen: list[Neighbour] = []
    per: Counter[str] = Counter()
    position = index.position
    seen: set[tuple[str, str]] = set()
    for sid, score in ranked:
        row = position[sid]
        key = str(model.track_artist_keys_[row])
        same = (key, str(model.track_names_[row]).casefold())  # one song on several albums
        if per[key] >= per_artist or same in seen:
            continue
        seen.add(same)
        per[key] += 1
        chosen.append(Neighbour(sid, score))
        if len(chosen) == n:
            break
    return _tracks_by_spotify_id(chosen)


def _name_keys(raw_ids: np.ndarray) -> dict[int, str]:
    lastfm = [int(r) for r in raw_ids.tolist() if r > 0]
    local = [-int(r) for r in raw_ids.tolist() if r < 0]
    keys: dict[int, str] = {
        int(lastfm_id): key
        for lastfm_id, key in Artist.objects.filter(lastfm_id__in=lastfm).values_list(
            "lastfm_id", "name_key"
        )
        if lastfm_id is not None
    }
    keys.update(
        {-pk: key for pk, key in Artist.objects.filter(pk__in=local).values_list("pk", "name_key")}
    )
    return keys


def _audio_profile(
    model: ContentRecommender, artist_keys: Sequence[str], filters: Filters
) -> np.ndarray | None:
    """The mean embedding of the seed artists' tracks, else of the genre/mood's tracks."""
    rows = np.flatnonzero(np.isin(model.track_artist_keys_, list(artist_keys)))
    allowed = model.track_index().allowed(filters)
    if len(rows) == 0 and allowed is not None:
        rows = np.flatnonzero(allowed)
    if len(rows) == 0:
        return None
    mean = model.track_vectors_[rows].mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None
