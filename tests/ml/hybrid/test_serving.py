"""Two-stage serving of the hybrid: retrieval + re-ranking over a column subset."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.hybrid.estimator import HybridRecommender
from ml.hybrid.serving import HybridServer
from tests.ml.conftest import make_checkerboard

MEMBERS = ["ease", "als", "itemknn", "popularity"]


@pytest.fixture(scope="module")
def model() -> HybridRecommender:
    return HybridRecommender.tiny(members=MEMBERS).fit(make_checkerboard().data)


def test_all_columns_give_the_full_ranking(model: HybridRecommender) -> None:
    history = sp.csr_matrix(model.train_matrix_[:3])

    full = model.recommend_with_details(history, n=5)
    restricted = model.recommend_with_details(history, n=5, columns=np.arange(model.n_items))

    assert [[r["item"] for r in row] for row in restricted] == [
        [r["item"] for r in row] for row in full
    ]


def test_restricted_columns_only_return_those_items(model: HybridRecommender) -> None:
    history = sp.csr_matrix(model.train_matrix_[:1])
    unseen = np.setdiff1d(np.arange(model.n_items), history.indices)[:4]

    rows = model.recommend_with_details(history, n=10, columns=unseen)[0]

    assert {r["item"] for r in rows} <= set(model.item_ids_[unseen].tolist())
    assert all(sum(r["parts"].values()) == pytest.approx(r["score"], abs=1e-5) for r in rows)


def test_server_respects_servable_and_exclude(model: HybridRecommender) -> None:
    servable = np.arange(0, model.n_items, 2)
    server = HybridServer(model, servable, retrieve=5, popular=2)
    history = sp.csr_matrix(model.train_matrix_[:1])
    first = server.recommend(history, n=3)
    banned = model.item_columns([first[0]["item"]])

    again = server.recommend(history, n=3, exclude=banned)

    assert {model.item_index_[r["item"]] for r in first} <= set(servable.tolist())
    assert first[0]["item"] not in [r["item"] for r in again]


def test_server_retrieves_with_the_als_vector(model: HybridRecommender) -> None:
    server = HybridServer(model, retrieve=3, popular=0)
    history = sp.csr_matrix(model.train_matrix_[:1])

    cols = server.candidates(history)

    als = model.members_["als"]
    scores = als.scores_for_columns(history, np.arange(model.n_items))[0]
    assert set(cols.tolist()) == set(np.argsort(-scores)[:3].tolist())


def test_server_rejects_a_history_of_the_wrong_shape(model: HybridRecommender) -> None:
    server = HybridServer(model)
    with pytest.raises(ValueError, match="one history row"):
        server.recommend(sp.csr_matrix((2, model.n_items), dtype=np.float32))


def test_prepared_rows_give_the_same_details(model: HybridRecommender) -> None:
    from ml.hybrid.details import details_prepared, prepare_row

    history = sp.csr_matrix(model.train_matrix_[:1])
    columns = np.arange(1, model.n_items)

    direct = model.recommend_with_details(history, n=4, columns=columns)[0]
    prepared = details_prepared(model, prepare_row(model, history, columns), n=4)

    assert [r["item"] for r in prepared] == [r["item"] for r in direct]
    for a, b in zip(prepared, direct, strict=True):
        assert a["confidence"] == pytest.approx(b["confidence"])
        assert a["because"] == b["because"]
