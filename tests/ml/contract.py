"""The contract every recommender meets (STYLE rule 21), run against each model's tiny config.

Subclass :class:`RecommenderContract` in a ``Test*`` class and implement ``make_model``::

    class TestEASE(RecommenderContract):
        def make_model(self) -> BaseRecommender:
            return EASERecommender.tiny()

The data is the checkerboard of ``tests/ml/conftest.py``: two taste clusters, each user missing
one item of their cluster, which a collaborative model must rank first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from ml.base import (
    BaseRecommender,
    ModelFitError,
    ModelLoadError,
    NotFittedError,
    UnknownUserError,
)
from ml.data.interactions import Interactions

if TYPE_CHECKING:
    from tests.ml.conftest import Checkerboard


class _OtherModel(BaseRecommender):
    """A different model type, to check that ``load`` refuses foreign artifacts."""

    model_type = "contract-other"

    def __init__(self) -> None:
        pass

    def _fit(self, data: Interactions) -> None:
        pass

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.zeros((history.shape[0], self.n_items), dtype=np.float32)


class RecommenderContract:
    #: False for models that cannot personalise (popularity): skips the checkerboard test.
    recovers_withheld: ClassVar[bool] = True
    #: Tolerance when comparing fold-in scores with known-user scores.
    fold_in_rtol: ClassVar[float] = 1e-4

    def make_model(self) -> BaseRecommender:
        raise NotImplementedError

    @pytest.fixture
    def fitted(self, checkerboard: Checkerboard) -> BaseRecommender:
        return self.make_model().fit(checkerboard.data)

    # ---- answers on data whose answer is known -------------------------------------------
    def test_withheld_item_ranks_first(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        if not self.recovers_withheld:
            pytest.skip(f"{fitted.model_type} does not personalise")
        users = list(checkerboard.withheld)

        ids, _ = fitted.recommend(users, n=1)

        assert ids[:, 0].tolist() == [checkerboard.withheld[u] for u in users]

    def test_fold_in_matches_known_user(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        users = checkerboard.data.user_ids
        history = checkerboard.data.matrix
        n = fitted.n_items

        known_ids, known_scores = fitted.recommend(users, n=n, exclude_seen=False)
        new_ids, new_scores = fitted.recommend_from_history(history, n=n, exclude_seen=False)

        for u in range(len(users)):
            known = dict(zip(known_ids[u].tolist(), known_scores[u].tolist(), strict=True))
            new = dict(zip(new_ids[u].tolist(), new_scores[u].tolist(), strict=True))
            items = sorted(known)
            np.testing.assert_allclose(
                [new[i] for i in items],
                [known[i] for i in items],
                rtol=self.fold_in_rtol,
                atol=1e-5,
            )
        top_known, _ = fitted.recommend(users, n=1)
        top_new, _ = fitted.recommend_from_history(history, n=1)
        if self.recovers_withheld:
            assert top_new.tolist() == top_known.tolist()

    def test_scores_for_columns_match_full_scores(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        history = checkerboard.data.matrix
        columns = np.array([fitted.n_items - 1, 0, 2], dtype=np.int64)[: fitted.n_items]

        restricted = fitted.scores_for_columns(history, columns)

        full = fitted._scores_from_history(history)
        np.testing.assert_allclose(restricted, full[:, columns], rtol=1e-4, atol=1e-5)

    # ---- shapes and filters ----------------------------------------------------------------
    def test_recommend_batch_shape_and_order(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        users = checkerboard.data.user_ids

        ids, scores = fitted.recommend(users, n=3)

        assert ids.shape == scores.shape == (len(users), 3)
        assert np.all(np.diff(scores, axis=1) <= 0)
        assert set(ids.ravel().tolist()) <= set(checkerboard.data.item_ids.tolist())

    def test_exclude_seen_never_returns_seen_items(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        data = checkerboard.data
        unseen = data.n_items - int(np.diff(data.matrix.indptr).max())

        ids, scores = fitted.recommend(data.user_ids, n=unseen)

        assert np.isfinite(scores).all()
        for u in range(data.n_users):
            seen = set(data.item_ids[data.matrix[u].indices].tolist())
            assert not seen & set(ids[u].tolist())

    def test_exclude_seen_false_can_return_seen_items(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        data = checkerboard.data

        ids, scores = fitted.recommend(data.user_ids[:1], n=data.n_items, exclude_seen=False)

        assert np.isfinite(scores).all()
        assert set(ids[0].tolist()) == set(data.item_ids.tolist())

    def test_candidates_restrict_output(
        self, fitted: BaseRecommender, checkerboard: Checkerboard
    ) -> None:
        data = checkerboard.data
        user = int(data.user_ids[0])
        candidates = [str(i) for i in data.item_ids[-3:]]

        ids, scores = fitted.recommend([user], n=3, candidates=candidates)
        fold_ids, _ = fitted.recommend_from_history(data.matrix[:1], n=3, candidates=candidates)

        assert sorted(ids[0].tolist()) == sorted(candidates)
        assert np.isfinite(scores).all()
        assert sorted(fold_ids[0].tolist()) == sorted(candidates)

    # ---- persistence -----------------------------------------------------------------------
    def test_save_then_load_gives_identical_scores(
        self, fitted: BaseRecommender, checkerboard: Checkerboard, tmp_path: Path
    ) -> None:
        data = checkerboard.data
        fitted.save(tmp_path / "model")

        loaded = type(fitted).load(tmp_path / "model")

        assert loaded.get_params() == fitted.get_params()
        np.testing.assert_array_equal(
            loaded.score(data.user_ids, data.item_ids), fitted.score(data.user_ids, data.item_ids)
        )
        for model in (loaded, fitted):
            assert (
                model.recommend(data.user_ids, n=4)[0].tolist()
                == fitted.recommend(data.user_ids, n=4)[0].tolist()
            )
        np.testing.assert_allclose(
            loaded.recommend_from_history(data.matrix, n=4)[1],
            fitted.recommend_from_history(data.matrix, n=4)[1],
            rtol=1e-6,
        )

    def test_unfitted_model_refuses_to_recommend_or_save(self, tmp_path: Path) -> None:
        model = self.make_model()

        with pytest.raises(NotFittedError):
            model.recommend([1000], n=1)
        with pytest.raises(NotFittedError):
            model.recommend_from_history(sp.csr_matrix((1, 3)), n=1)
        with pytest.raises(NotFittedError):
            model.save(tmp_path / "model")

    def test_load_of_another_model_type_raises(
        self, fitted: BaseRecommender, checkerboard: Checkerboard, tmp_path: Path
    ) -> None:
        fitted.save(tmp_path / "mine")
        _OtherModel().fit(checkerboard.data).save(tmp_path / "other")

        with pytest.raises(ModelLoadError):
            type(fitted).load(tmp_path / "other")
        with pytest.raises(ModelLoadError):
            _OtherModel.load(tmp_path / "mine")
        with pytest.raises(ModelLoadError):
            type(fitted).load(tmp_path / "empty")

    # ---- invalid input ---------------------------------------------------------------------
    def test_unknown_user_raises(self, fitted: BaseRecommender) -> None:
        with pytest.raises(UnknownUserError):
            fitted.recommend([999_999], n=1)
        with pytest.raises(UnknownUserError):
            fitted.score([999_999], fitted.item_ids_[:1])

    def test_n_below_one_raises(self, fitted: BaseRecommender, checkerboard: Checkerboard) -> None:
        with pytest.raises(ValueError):
            fitted.recommend(checkerboard.data.user_ids[:1], n=0)
        with pytest.raises(ValueError):
            fitted.recommend_from_history(checkerboard.data.matrix[:1], n=0)

    def test_history_with_wrong_item_count_raises(self, fitted: BaseRecommender) -> None:
        with pytest.raises(ValueError):
            fitted.recommend_from_history(sp.csr_matrix((1, fitted.n_items + 1)), n=1)

    def test_fit_on_empty_data_raises(self) -> None:
        empty = Interactions(
            matrix=sp.csr_matrix((3, 4), dtype=np.float32),
            user_ids=np.arange(3),
            item_ids=np.arange(4),
        )

        with pytest.raises(ModelFitError):
            self.make_model().fit(empty)
