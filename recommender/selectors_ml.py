"""Reads for the ``ml`` package: database rows as the arrays the models train on.

``interaction_matrix_build`` returns exactly what ``ml.data.interactions.load_hetrec`` returns
for the imported files (until listening events add plays on top), so ``manage.py train`` and
``python -m ml train`` train the same code on the same structure.

Raw ids. Users are their Last.fm user id (``ListenerProfile.lastfm_user_id``), artists and tags
their Last.fm id; rows without one (Audotics sign-ups, catalogue-only artists, app tags) use the
negated primary key. Last.fm ids start at 1, so the two ranges never collide, the ids stay
``int64`` like the file loader's, and ``raw < 0`` tells an Audotics row from a Last.fm one.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.db.models import BigIntegerField, Count, F
from django.db.models.functions import Coalesce

from groups.models import Friendship
from ml.artifacts import ModelStore
from ml.data.interactions import Interactions, from_triples
from ml.registry import ModelRegistry
from recommender.models import ArtistPlayCount, ListeningEvent, UserTagAssignment

DATABASE_DATA_NAME = "database"


def _raw_id(lastfm_field: str, pk_field: str) -> Coalesce:
    """The Last.fm id, or minus the primary key when there is none (see the module docstring)."""
    return Coalesce(F(lastfm_field), F(pk_field) * -1, output_field=BigIntegerField())


def _user_raw_id(relation: str) -> Coalesce:
    return _raw_id(f"{relation}__profile__lastfm_user_id", f"{relation}_id")


def interaction_matrix_build() -> Interactions:
    """Users x artists play counts, artist x tag counts and friend pairs, by raw id.

    A user's count for an artist is their Last.fm play count (``ArtistPlayCount``) plus one per
    timestamped play of one of the artist's tracks (``ListeningEvent``: Spotify history, data
    exports, rooms). Only users and artists with at least one play are rows and columns (as in
    ``user_artists.dat``), so a user known only from listening events is a row too; tag
    features count the users who gave each played artist each tag.
    """
    plays = ArtistPlayCount.objects.annotate(
        u=_user_raw_id("user"), a=_raw_id("artist__lastfm_id", "artist_id")
    ).values_list("u", "a", "play_count")
    rows = np.array(list(plays) + _listening_event_counts(), dtype=np.int64).reshape(-1, 3)
    data = from_triples(
        rows[:, 0], rows[:, 1], rows[:, 2].astype(np.float32), name=DATABASE_DATA_NAME
    )
    features, tag_ids = _artist_tag_counts(data.item_ids)
    return Interactions(
        matrix=data.matrix,
        user_ids=data.user_ids,
        item_ids=data.item_ids,
        item_features=features,
        feature_names=tag_ids,
        friends=_friend_pairs(),
        name=DATABASE_DATA_NAME,
    )


def _listening_event_counts() -> list[tuple[int, int, int]]:
    """``(user, artist, plays)`` from timestamped plays; ``from_triples`` adds them up."""
    counts = (
        ListeningEvent.objects.annotate(
            u=_user_raw_id("user"), a=_raw_id("track__artist__lastfm_id", "track__artist_id")
        )
        .values("u", "a")
        .annotate(n=Count("id"))
        .values_list("u", "a", "n")
    )
    return list(counts)


def _artist_tag_counts(item_ids: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    counts = (
        UserTagAssignment.objects.annotate(
            a=_raw_id("artist__lastfm_id", "artist_id"), t=_raw_id("tag__lastfm_id", "tag_id")
        )
        .values("a", "t")
        .annotate(n=Count("id"))
        .values_list("a", "t", "n")
    )
    index = {a: k for k, a in enumerate(item_ids.tolist())}
    kept = [(index[a], t, n) for a, t, n in counts if a in index]
    triples = np.array(kept, dtype=np.int64).reshape(-1, 3)
    tag_ids, cols = np.unique(triples[:, 1], return_inverse=True)
    matrix = sp.csr_matrix(
        (triples[:, 2].astype(np.float32), (triples[:, 0], cols.ravel())),
        shape=(len(item_ids), len(tag_ids)),
    )
    matrix.sum_duplicates()
    return matrix, tag_ids


def _friend_pairs() -> np.ndarray:
    """Each friendship once as ``(smaller raw id, larger raw id)``, sorted."""
    pairs = Friendship.objects.annotate(
        lo=_user_raw_id("user_low"), hi=_user_raw_id("user_high")
    ).values_list("lo", "hi")
    array = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
    array = np.sort(array, axis=1)
    return np.unique(array, axis=0).reshape(-1, 2)


@functools.cache
def _registry(root: Path) -> ModelRegistry:
    return ModelRegistry(ModelStore(root))


def model_registry() -> ModelRegistry:
    """This process's cache of active models over ``settings.ML_STORE_DIR``."""
    return _registry(Path(settings.ML_STORE_DIR))
