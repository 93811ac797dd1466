"""Reads for the group model: names, genres and moods beside the interaction matrix, and the
raw ids and histories by which the model knows a listener.

Raw ids follow ``recommender.selectors_ml``: the Last.fm id, or minus the primary key for rows
without one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ml.data.interactions import Interactions
from ml.group.text import FEATURE_LABELS, ITEM_GENRES, ITEM_MOODS, ITEM_NAMES
from recommender.models import Artist, ArtistPlayCount, Tag, TrackGenre, TrackMood

if TYPE_CHECKING:
    from recommender.models import User

TOP_LABELS = 3


def _raw(lastfm_id: int | None, pk: int) -> int:
    return int(lastfm_id) if lastfm_id is not None else -int(pk)


def taste_vocabulary_attach(*, data: Interactions) -> Interactions:
    """``data`` with artist and tag names, and the artists' catalogue genres and moods.

    Genres and moods come from the artists' catalogue tracks (their most common three); an
    artist without tracks gets none. They land in ``data.extras`` under the keys
    :mod:`ml.group.text` reads.
    """
    artists: dict[int, tuple[int, str]] = {
        _raw(lastfm_id, pk): (pk, name)
        for pk, lastfm_id, name in Artist.objects.values_list("pk", "lastfm_id", "name")
    }
    names = [artists.get(i, (None, str(i)))[1] for i in data.item_ids.tolist()]
    extras = dict(data.extras)
    extras[ITEM_NAMES] = np.asarray(names, dtype=str)
    if data.feature_names is not None:
        tags = {
            _raw(lastfm_id, pk): name
            for pk, lastfm_id, name in Tag.objects.values_list("pk", "lastfm_id", "name")
        }
        labels = [tags.get(t, str(t)) for t in data.feature_names.tolist()]
        extras[FEATURE_LABELS] = np.asarray(labels, dtype=str)
    pks = [artists.get(i, (0, ""))[0] for i in data.item_ids.tolist()]  # 0: no such artist
    genres = _labels(TrackGenre.objects.values_list("track__artist_id", "genre__name"))
    moods = _labels(TrackMood.objects.values_list("track__artist_id", "mood"))
    if genres:
        extras[ITEM_GENRES] = np.asarray([genres.get(pk, "") for pk in pks], dtype=str)
    if moods:
        extras[ITEM_MOODS] = np.asarray([moods.get(pk, "") for pk in pks], dtype=str)
    return replace(data, extras=extras)


def _labels(rows: object) -> dict[int, str]:
    """``artist pk -> "a; b; c"``: the most common labels over the artist's tracks."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for artist_id, label in rows:  # type: ignore[attr-defined]
        if label:
            counts[int(artist_id)][str(label)] += 1
    return {
        a: "; ".join(label for label, _ in c.most_common(TOP_LABELS)) for a, c in counts.items()
    }


def listener_raw_id(*, user: User) -> int:
    """The id the models know ``user`` by (Last.fm id, or minus the primary key)."""
    profile = getattr(user, "profile", None)
    lastfm_id = getattr(profile, "lastfm_user_id", None)
    return _raw(lastfm_id, int(user.pk))


def listener_history(*, user: User) -> dict[int, float]:
    """``{artist raw id: play count}`` of ``user`` (empty without plays)."""
    rows = ArtistPlayCount.objects.filter(user=user).values_list(
        "artist__lastfm_id", "artist_id", "play_count"
    )
    return {_raw(lastfm_id, pk): float(plays) for lastfm_id, pk, plays in rows}
