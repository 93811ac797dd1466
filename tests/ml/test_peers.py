"""The peer recommenders: the shared contract plus what is particular to each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml.base import BaseRecommender
from ml.data.interactions import Interactions
from ml.models import PEERS, build, model_class
from ml.peers import Weighting
from ml.peers.als import ALSRecommender
from ml.peers.ease import EASERecommender
from ml.peers.itemknn import ItemKNNRecommender
from ml.peers.popularity import PopularityRecommender
from tests.ml.conftest import Checkerboard
from tests.ml.contract import RecommenderContract


class TestPopularity(RecommenderContract):
    recovers_withheld = False

    def make_model(self) -> BaseRecommender:
        return PopularityRecommender.tiny()


class TestItemKNN(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return ItemKNNRecommender.tiny()


class TestEASE(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return EASERecommender.tiny()


class TestALS(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return ALSRecommender.tiny()


def _interactions(dense: list[list[float]]) -> Interactions:
    matrix = sp.csr_matrix(np.asarray(dense, dtype=np.float32))
    return Interactions(
        matrix=matrix, user_ids=np.arange(matrix.shape[0]), item_ids=np.arange(matrix.shape[1])
    )


@pytest.mark.parametrize("name", PEERS)
def test_registry_builds_every_peer_unfitted(name: str) -> None:
    model = build(name, tiny=True)

    assert isinstance(model, model_class(name))
    assert model.model_type == name
    assert not model.is_fitted


def test_popularity_ranks_by_number_of_users_not_plays() -> None:
    data = _interactions([[1000, 1, 0], [0, 1, 1], [0, 1, 1]])

    ids, scores = PopularityRecommender().fit(data).recommend([0], n=3, exclude_seen=False)

    assert ids[0].tolist() == [1, 2, 0]
    assert scores[0].tolist() == [3.0, 2.0, 1.0]


def test_itemknn_is_cosine_on_binary_weights_without_shrink() -> None:
    data = _interactions([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
    model = ItemKNNRecommender(k=5, shrink=0.0, weighting="binary").fit(data)

    sim = model.similarity_.toarray()

    x = data.matrix.toarray()
    expected = (x.T @ x) / np.outer(np.linalg.norm(x, axis=0), np.linalg.norm(x, axis=0))
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(sim, expected, rtol=1e-6)


def test_itemknn_keeps_at_most_k_neighbours_per_target_item(checkerboard: Checkerboard) -> None:
    model = ItemKNNRecommender(k=2).fit(checkerboard.data)

    per_target = np.diff(model.similarity_.tocsc().indptr)

    assert per_target.max() == 2


def test_ease_matches_the_closed_form() -> None:
    data = _interactions([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0]])
    model = EASERecommender(l2=0.5, min_item_users=1).fit(data)

    x = data.matrix.toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 0.5 * np.eye(4))
    expected = -p / np.diag(p)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)


def test_ease_leaves_rare_items_out_of_the_item_matrix() -> None:
    data = _interactions([[1, 1, 0], [1, 1, 0], [0, 1, 1]])
    model = EASERecommender(l2=1.0, min_item_users=2).fit(data)

    assert model.active_items_.tolist() == [0, 1]
    assert model.score([2], [2])[0, 0] == 0.0


def test_als_known_users_sit_at_the_fold_in_solution(checkerboard: Checkerboard) -> None:
    model = ALSRecommender.tiny().fit(checkerboard.data)

    folded = model._solve_users(
        model.weighting_.transform(checkerboard.data.matrix), np.arange(checkerboard.data.n_users)
    )

    np.testing.assert_allclose(folded, model.user_factors_, rtol=1e-5, atol=1e-6)


def test_als_new_user_from_one_cluster_gets_that_cluster(checkerboard: Checkerboard) -> None:
    model = ALSRecommender.tiny().fit(checkerboard.data)
    history = model.history_matrix([{"artist-00": 30.0, "artist-01": 5.0}])

    ids, _ = model.recommend_from_history(history, n=3)

    assert set(ids[0].tolist()) == {"artist-02", "artist-03", "artist-04"}


def test_als_fit_is_reproducible(checkerboard: Checkerboard) -> None:
    first = ALSRecommender.tiny().fit(checkerboard.data)
    second = ALSRecommender.tiny().fit(checkerboard.data)

    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)


@pytest.mark.parametrize("scheme", ["binary", "log1p", "bm25", "none"])
def test_weighting_of_a_training_row_is_the_same_at_fold_in(
    scheme: str, checkerboard: Checkerboard
) -> None:
    matrix = checkerboard.data.matrix
    weighting = Weighting(scheme).fit(matrix)

    whole = weighting.transform(matrix)
    one = weighting.transform(matrix[3:4])

    np.testing.assert_allclose(one.toarray(), whole[3:4].toarray())
    assert (whole.data > 0).all()


def test_weighting_bm25_damps_huge_play_counts() -> None:
    matrix = sp.csr_matrix(np.array([[1.0, 100_000.0, 0.0], [2.0, 0.0, 5.0]], np.float32))

    out = Weighting("bm25").fit(matrix).transform(matrix).toarray()

    assert out[0, 1] / out[1, 2] < 100  # 20,000 in raw counts


def test_unknown_weighting_raises() -> None:
    with pytest.raises(ValueError, match="weighting"):
        Weighting("sqrt")


@pytest.mark.parametrize("name", ["itemknn", "ease", "als"])
def test_weighting_state_survives_save_and_load(
    name: str, checkerboard: Checkerboard, tmp_path: Path
) -> None:
    model = build(name, tiny=True, weighting="bm25").fit(checkerboard.data)
    history = checkerboard.data.matrix[:2]

    loaded = type(model).load(model.save(tmp_path / name))

    np.testing.assert_allclose(
        loaded.recommend_from_history(history, n=3)[1],
        model.recommend_from_history(history, n=3)[1],
        rtol=1e-6,
    )
