"""Ranking metrics on hand-computed examples, and the weak / fold-in protocol runners."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from ml.base import BaseRecommender
from ml.data.interactions import Interactions
from ml.evaluation import (
    METRICS,
    ModelResult,
    evaluate_fold_in,
    evaluate_weak,
    gini,
    ranking_metrics_at_k,
)
from ml.peers.ease import EASERecommender
from ml.peers.popularity import PopularityRecommender
from tests.ml.conftest import Checkerboard

ITEMS = np.array(["a", "b", "c", "d", "e", "f"])


class _FixedScores(BaseRecommender):
    """Scores given up front, one row per training user (fold-in reuses the first rows)."""

    model_type = "fixed"

    def __init__(self, scores: list[list[float]]) -> None:
        self.scores = scores

    def _fit(self, data: Interactions) -> None:
        self.table_ = np.asarray(self.scores, dtype=np.float32)

    def _scores_for_users(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.table_[rows])

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self.table_[: history.shape[0]]


def _data(rows: list[list[str]], users: list[int] | None = None) -> Interactions:
    index = {item: k for k, item in enumerate(ITEMS)}
    dense = np.zeros((len(rows), len(ITEMS)), dtype=np.float32)
    for u, items in enumerate(rows):
        dense[u, [index[i] for i in items]] = 1.0
    user_ids = np.array(users if users is not None else range(len(rows)))
    return Interactions(matrix=sp.csr_matrix(dense), user_ids=user_ids, item_ids=ITEMS)


def _ranking(*orders: str) -> list[list[float]]:
    """Scores that rank items in the given order (a string of item letters, best first)."""
    table = []
    for order in orders:
        row = [0.0] * len(ITEMS)
        for rank, item in enumerate(order):
            row[list(ITEMS).index(item)] = float(len(ITEMS) - rank)
        table.append(row)
    return table


def test_a_perfect_model_scores_one_everywhere() -> None:
    train = _data([["f"], ["f"]])
    test = _data([["a", "b"], ["c"]])
    model = _FixedScores(_ranking("fabcde", "fcabde")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=2)

    assert metrics["ndcg"] == pytest.approx(1.0)
    assert metrics["map"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(1.0)
    assert metrics["hr"] == pytest.approx(1.0)
    assert set(metrics) == set(METRICS)


def test_two_users_with_hand_computed_values() -> None:
    # User 0: test {a, c}, top-3 [a, b, c]: AP = (1/1 + 2/3) / 2 = 5/6.
    # User 1: test {e},    top-3 [d, e, a]: AP = (1/2) / 1 = 1/2.   MAP@3 = 2/3.
    train = _data([["f"], ["f"]])
    test = _data([["a", "c"], ["e"]])
    model = _FixedScores(_ranking("abcdef", "deabcf")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=3)

    ndcg_0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_1 = (1 / math.log2(3)) / 1
    assert metrics["map"] == pytest.approx(2 / 3)
    assert metrics["ndcg"] == pytest.approx((ndcg_0 + ndcg_1) / 2)
    assert metrics["recall"] == pytest.approx(1.0)
    assert metrics["precision"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert metrics["hr"] == pytest.approx(1.0)


def test_recall_divides_by_the_smaller_of_test_size_and_k() -> None:
    train = _data([["f"]])
    test = _data([["a", "b", "c", "d", "e"]])
    model = _FixedScores(_ranking("abcdef")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=2)

    assert metrics["recall"] == pytest.approx(1.0)
    assert metrics["ndcg"] == pytest.approx(1.0)


def test_training_items_are_excluded_from_the_ranking() -> None:
    # The model likes "a" most, but "a" is in user 0's training history.
    train = _data([["a"], ["f"]])
    test = _data([["b"], ["a"]])
    model = _FixedScores(_ranking("abcdef", "abcdef")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=1)

    assert metrics["hr"] == pytest.approx(1.0)


def test_users_without_test_items_are_skipped() -> None:
    train = _data([["f"], ["f"], ["f"]])
    with_empty = _data([["a"], [], ["b"]])
    without = _data([["a"], ["b"]], users=[0, 2])
    model = _FixedScores(_ranking("abcdef", "abcdef", "bacdef")).fit(train)

    assert ranking_metrics_at_k(model, train, with_empty, k=1) == ranking_metrics_at_k(
        model, train, without, k=1
    )


def test_coverage_popularity_bias_and_gini() -> None:
    # Top-2 lists: user 0 [a, b], user 1 [a, c]; catalogue of 6 items.
    train = _data([["d", "a"], ["e"], ["f", "a"], ["a"]])
    test = _data([["b"], ["c"], ["b"], ["b"]])
    table = _ranking("abcdef", "acbdef", "abcdef", "abcdef")
    model = _FixedScores(table).fit(train)

    metrics = ranking_metrics_at_k(model, train, test.subset_users(np.array([1])), k=2)
    assert metrics["coverage"] == pytest.approx(2 / 6)  # user 1 alone: [a, c]
    # popularity = share of the 4 training users: a 3/4, c 0/4.
    assert metrics["pop_bias"] == pytest.approx((3 / 4 + 0) / 2)

    two = _data([["f"], ["f"]])
    model = _FixedScores(_ranking("abcdef", "acbdef")).fit(two)
    metrics = ranking_metrics_at_k(model, two, _data([["b"], ["c"]]), k=2)
    # counts over the catalogue: a 2, b 1, c 1, d 0, e 0, f 0.
    assert metrics["coverage"] == pytest.approx(3 / 6)
    assert metrics["gini"] == pytest.approx(gini(np.array([2, 1, 1, 0, 0, 0])))


def test_gini_of_simple_distributions() -> None:
    assert gini(np.array([3, 3, 3])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(3 / 4)
    assert gini(np.array([0, 1, 1, 2])) == pytest.approx(6 / 16)
    assert gini(np.zeros(5)) == 0.0


def test_history_rows_use_fold_in_and_are_the_excluded_items() -> None:
    train = _data([["f"], ["f"]])
    test = _data([["b"], ["c"]], users=[50, 51])  # users the model has never seen
    history = _data([["a"], ["a"]]).matrix
    model = _FixedScores(_ranking("abcdef", "acbdef")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=1, history=history)

    assert metrics["hr"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows"):
        ranking_metrics_at_k(model, train, test, k=1, history=history[:1])


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_raises(k: object, checkerboard: Checkerboard) -> None:
    model = PopularityRecommender().fit(checkerboard.data)

    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics_at_k(model, checkerboard.data, checkerboard.data, k=k)  # type: ignore[arg-type]


def test_k_larger_than_the_catalogue_only_counts_real_items() -> None:
    train = _data([["a", "b", "c", "d"]])
    test = _data([["e"]])
    model = _FixedScores(_ranking("abcdef")).fit(train)

    metrics = ranking_metrics_at_k(model, train, test, k=10)

    assert metrics["coverage"] == pytest.approx(2 / 6)
    assert metrics["ndcg"] == pytest.approx(1.0)


def test_evaluate_weak_returns_json_ready_results(checkerboard: Checkerboard) -> None:
    models = {"popularity": PopularityRecommender(), "ease": EASERecommender.tiny()}

    results = evaluate_weak(models, checkerboard.data, k=3, seed=7)

    assert list(results) == ["popularity", "ease"]
    for name, result in results.items():
        assert isinstance(result, ModelResult)
        assert (result.model, result.protocol, result.k) == (name, "weak", 3)
        assert result.users == checkerboard.data.n_users
        assert result.train_seconds >= 0 and result.recommend_seconds_per_user >= 0
        assert json.loads(json.dumps(result.to_dict()))["metrics"] == result.metrics
    assert results["ease"].metrics["ndcg"] > results["popularity"].metrics["ndcg"]


def test_evaluate_weak_is_reproducible_for_a_seed(checkerboard: Checkerboard) -> None:
    first = evaluate_weak({"ease": EASERecommender.tiny()}, checkerboard.data, k=3, seed=3)
    second = evaluate_weak({"ease": EASERecommender.tiny()}, checkerboard.data, k=3, seed=3)

    assert first["ease"].metrics == second["ease"].metrics


def test_evaluate_fold_in_serves_new_users_and_drops_unknown_items(
    checkerboard: Checkerboard,
) -> None:
    data = checkerboard.data
    train = data.subset_users(np.array([0, 1, 2, 5, 6, 7]))
    test = data.subset_users(np.array([3, 4, 8, 9]))
    # The test users also played an artist the training users never heard of.
    extra = sp.hstack([test.matrix, sp.csr_matrix(np.full((4, 1), 5.0, np.float32))]).tocsr()
    test = Interactions(
        matrix=extra, user_ids=test.user_ids, item_ids=np.append(test.item_ids, "artist-new")
    )

    results = evaluate_fold_in({"ease": EASERecommender.tiny()}, train, test, k=2, seed=7)

    result = results["ease"]
    assert result.protocol == "fold-in"
    assert result.users == 4
    assert result.metrics["hr"] == pytest.approx(1.0)
