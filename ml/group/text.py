"""Each listener's taste as a short text: top tags, top artists, and genres and moods if known.

The text is what the BERT encoder reads, e.g.::

    tags: indie, alternative, rock, british, post-punk. artists: Radiohead, Muse, Placebo.

Names come from the data: :func:`attach_names` reads them from a HetRec folder
(``artists.dat``, ``tags.dat``) into ``Interactions.extras``; the Django side fills the same
keys from the database. Optional per-item genre and mood strings (``;``-separated) are used when
present. Without names an item or tag is written as its raw id, which still works but carries
less meaning for the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.data import hetrec
from ml.data.interactions import Interactions

ITEM_NAMES = "item_names"
FEATURE_LABELS = "feature_labels"
ITEM_GENRES = "item_genres"
ITEM_MOODS = "item_moods"
TEXT_KEYS = (ITEM_NAMES, FEATURE_LABELS, ITEM_GENRES, ITEM_MOODS)


@dataclass(frozen=True)
class TasteProfile:
    """A listener's strongest tags, artists, genres and moods with their weights, best first."""

    tags: list[tuple[str, float]]
    artists: list[tuple[str, float]]
    genres: list[tuple[str, float]]
    moods: list[tuple[str, float]]


@dataclass(frozen=True)
class Vocabulary:
    """Names aligned with a model's items and tag features, plus optional genres and moods.

    ``item_tags`` is items x tags, each item's row normalised to sum to 1 (its tag mix).
    """

    item_names: np.ndarray
    item_tags: sp.csr_matrix
    tag_names: np.ndarray
    item_genres: np.ndarray
    item_moods: np.ndarray

    @classmethod
    def from_interactions(cls, data: Interactions, item_tags: sp.csr_matrix | None) -> Vocabulary:
        n = data.n_items
        names = _strings(data.extras.get(ITEM_NAMES), n, data.item_ids)
        tags = item_tags if item_tags is not None else sp.csr_matrix((n, 0), dtype=np.float32)
        labels = data.extras.get(FEATURE_LABELS)
        if labels is None and data.feature_names is not None:
            labels = np.asarray([f"tag {t}" for t in data.feature_names.tolist()])
        tag_names = _strings(labels, tags.shape[1], np.arange(tags.shape[1]))
        return cls(
            item_names=names,
            item_tags=_row_normalised(tags),
            tag_names=tag_names,
            item_genres=_strings(data.extras.get(ITEM_GENRES), n, None),
            item_moods=_strings(data.extras.get(ITEM_MOODS), n, None),
        )

    def state(self) -> dict[str, np.ndarray]:
        t = self.item_tags
        return {
            "item_names": self.item_names,
            "tag_names": self.tag_names,
            "item_genres": self.item_genres,
            "item_moods": self.item_moods,
            "item_tags_data": t.data,
            "item_tags_indices": t.indices,
            "item_tags_indptr": t.indptr,
            "item_tags_shape": np.asarray(t.shape, np.int64),
        }

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> Vocabulary:
        shape = tuple(int(v) for v in arrays["item_tags_shape"])
        tags = sp.csr_matrix(
            (arrays["item_tags_data"], arrays["item_tags_indices"], arrays["item_tags_indptr"]),
            shape=shape,
        )
        return cls(
            item_names=arrays["item_names"].astype(str),
            item_tags=tags,
            tag_names=arrays["tag_names"].astype(str),
            item_genres=arrays["item_genres"].astype(str),
            item_moods=arrays["item_moods"].astype(str),
        )


def _strings(values: np.ndarray | None, n: int, fallback: np.ndarray | None) -> np.ndarray:
    if values is not None and len(values) == n:
        return np.asarray([str(v) for v in np.asarray(values).tolist()], dtype=str)
    if fallback is None:
        return np.full(n, "", dtype=str)
    return np.asarray([str(v) for v in np.asarray(fallback).tolist()], dtype=str)


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    sums = np.asarray(out.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ out, dtype=np.float32)


def taste_profile(
    history: sp.csr_matrix, vocabulary: Vocabulary, *, n_tags: int = 8, n_artists: int = 6
) -> TasteProfile:
    """The profile of one history row (weights are play counts, damped with log1p)."""
    row = sp.csr_matrix(history, dtype=np.float32)
    cols, weights = row.indices, np.log1p(np.maximum(row.data, 0.0))
    tag_weights = np.asarray(weights @ vocabulary.item_tags[cols].toarray()).ravel()
    return TasteProfile(
        tags=_top(vocabulary.tag_names, tag_weights, n_tags),
        artists=_top(vocabulary.item_names[cols], weights, n_artists),
        genres=_top_labels(vocabulary.item_genres[cols], weights, 3),
        moods=_top_labels(vocabulary.item_moods[cols], weights, 2),
    )


def _top(names: np.ndarray, weights: np.ndarray, n: int) -> list[tuple[str, float]]:
    if n == 0 or len(weights) == 0:
        return []
    order = np.argsort(-weights, kind="stable")[:n]
    return [(str(names[i]), float(weights[i])) for i in order if weights[i] > 0]


def _top_labels(labels: np.ndarray, weights: np.ndarray, n: int) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for text, weight in zip(labels.tolist(), weights.tolist(), strict=True):
        for label in (part.strip() for part in str(text).split(";")):
            if label:
                totals[label] = totals.get(label, 0.0) + float(weight)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def taste_text(profile: TasteProfile) -> str:
    """The sentence the encoder reads; an empty history reads ``"no listening history"``."""
    parts = []
    for label, entries in (
        ("tags", profile.tags),
        ("artists", profile.artists),
        ("genres", profile.genres),
        ("moods", profile.moods),
    ):
        if entries:
            parts.append(f"{label}: {', '.join(name for name, _ in entries)}.")
    return " ".join(parts) or "no listening history"


def taste_texts(
    histories: sp.csr_matrix, vocabulary: Vocabulary, *, n_tags: int, n_artists: int
) -> list[str]:
    """One text per history row."""
    histories = sp.csr_matrix(histories)
    return [
        taste_text(taste_profile(histories[r], vocabulary, n_tags=n_tags, n_artists=n_artists))
        for r in range(histories.shape[0])
    ]


def attach_names(data: Interactions, folder: Path | str) -> Interactions:
    """``data`` with artist and tag names from a HetRec folder's ``artists.dat``/``tags.dat``.

    Missing files leave ``data`` as it is (a CSV source has no names).
    """
    folder = Path(folder)
    extras = dict(data.extras)
    if (folder / hetrec.ARTISTS_FILE).exists():
        names = {r.artist_id: r.name for r in hetrec.read_artists(folder).rows}
        extras[ITEM_NAMES] = _lookup(names, data.item_ids)
    if data.feature_names is not None and (folder / hetrec.TAGS_FILE).exists():
        tags = {r.tag_id: r.name for r in hetrec.read_tags(folder).rows}
        extras[FEATURE_LABELS] = _lookup(tags, data.feature_names)
    return replace(data, extras=extras)


def _lookup(names: dict[int, str], ids: Sequence[object] | np.ndarray) -> np.ndarray:
    return np.asarray([names.get(i, str(i)) for i in np.asarray(ids).tolist()], dtype=str)
