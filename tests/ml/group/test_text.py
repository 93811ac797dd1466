"""Taste as text: names from the HetRec files, optional genres and moods."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.data.interactions import Interactions, load
from ml.group.text import (
    ITEM_GENRES,
    ITEM_MOODS,
    ITEM_NAMES,
    Vocabulary,
    attach_names,
    taste_profile,
    taste_text,
    taste_texts,
)


def _toy() -> Interactions:
    matrix = sp.csr_matrix(np.array([[50, 5, 0], [0, 0, 9]], dtype=np.float32))
    features = sp.csr_matrix(np.array([[2, 0], [1, 1], [0, 3]], dtype=np.float32))
    return Interactions(
        matrix=matrix,
        user_ids=np.array([1, 2]),
        item_ids=np.array([10, 11, 12]),
        item_features=features,
        feature_names=np.array([100, 200]),
        extras={
            ITEM_NAMES: np.array(["Radiohead", "Muse", "Slayer"]),
            "feature_labels": np.array(["indie", "metal"]),
            ITEM_GENRES: np.array(["rock; alternative", "rock", "metal"]),
            ITEM_MOODS: np.array(["sad", "energetic", "energetic"]),
        },
    )


def test_profile_orders_tags_artists_genres_and_moods_by_weight() -> None:
    data = _toy()
    vocabulary = Vocabulary.from_interactions(data, data.item_features)

    profile = taste_profile(data.matrix[0], vocabulary, n_tags=2, n_artists=2)

    assert [name for name, _ in profile.artists] == ["Radiohead", "Muse"]
    assert [name for name, _ in profile.tags] == ["indie", "metal"]
    assert profile.genres[0][0] == "rock"
    assert {name for name, _ in profile.moods} == {"sad", "energetic"}
    assert taste_text(profile) == (
        "tags: indie, metal. artists: Radiohead, Muse. genres: rock, alternative. "
        "moods: sad, energetic."
    )


def test_without_names_ids_stand_in_and_empty_history_still_reads() -> None:
    data = replace(_toy(), extras={})
    vocabulary = Vocabulary.from_interactions(data, data.item_features)

    texts = taste_texts(
        sp.vstack([data.matrix[1], sp.csr_matrix((1, 3))]).tocsr(),
        vocabulary,
        n_tags=1,
        n_artists=1,
    )

    assert texts == ["tags: tag 200. artists: 12.", "no listening history"]


def test_attach_names_reads_artists_and_tags_of_a_hetrec_folder(lastfm_small: Path) -> None:
    data = attach_names(load(lastfm_small), lastfm_small)
    vocabulary = Vocabulary.from_interactions(data, data.item_features)

    text = taste_texts(data.matrix[:1], vocabulary, n_tags=3, n_artists=2)[0]

    assert text.startswith("tags: ") and "artists: " in text
    assert not any(ch.isdigit() for ch in text.split("artists:")[0])  # tag names, not ids
    assert len(data.extras[ITEM_NAMES]) == data.n_items


def test_vocabulary_state_round_trips() -> None:
    data = _toy()
    vocabulary = Vocabulary.from_interactions(data, data.item_features)

    again = Vocabulary.from_state(vocabulary.state())

    assert again.item_names.tolist() == vocabulary.item_names.tolist()
    assert again.item_moods.tolist() == vocabulary.item_moods.tolist()
    assert (again.item_tags != vocabulary.item_tags).nnz == 0
