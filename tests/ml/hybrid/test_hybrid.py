"""The hybrid orchestrator on tiny members: contract, weights, details, confidence, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml.base import BaseRecommender
from ml.cli import main
from ml.hybrid import calibration
from ml.hybrid.blend import (
    CandidateSet,
    bucket_of,
    normalise,
    search_shrunk_weights,
    search_weights,
)
from ml.hybrid.estimator import HybridRecommender
from tests.ml.conftest import Checkerboard, make_checkerboard
from tests.ml.contract import RecommenderContract

FAST_MEMBERS = ["ease", "als", "itemknn", "popularity"]
_FITTED: dict[str, HybridRecommender] = {}


def fitted_hybrid() -> HybridRecommender:
    """One fit shared by the read-only tests (fitting is the slow part)."""
    if "fast" not in _FITTED:
        _FITTED["fast"] = HybridRecommender.tiny(members=FAST_MEMBERS).fit(make_checkerboard().data)
    return _FITTED["fast"]


class TestHybridContract(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return HybridRecommender.tiny(members=FAST_MEMBERS)

    @pytest.fixture
    def fitted(self, checkerboard: Checkerboard) -> BaseRecommender:
        return fitted_hybrid()


def test_each_bucket_uses_its_own_weights() -> None:
    model = fitted_hybrid()
    history = model.train_matrix_[:2]
    model_b = HybridRecommender.tiny(members=FAST_MEMBERS)
    model_b.__dict__.update(model.__dict__)
    model_b.bucket_weights_ = model.bucket_weights_.copy()
    bucket = int(bucket_of(np.diff(history.indptr), model.edges)[0])
    model_b.bucket_weights_[bucket] = np.array([0.0, 0.0, 0.0, 1.0], np.float32)  # popularity

    scores = model_b._scores_from_history(history)

    z = model.member_scores(history)
    np.testing.assert_allclose(scores, z[3], rtol=1e-6)
    assert not np.allclose(model._scores_from_history(history), scores)
    assert model.row_weights(np.array([40]), {"cold_start": True}).tolist() == [
        model.bucket_weights_[0].tolist()
    ]


def test_weight_search_finds_the_informative_member() -> None:
    rng = np.random.default_rng(0)
    hits = rng.random((200, 30)) < 0.1
    good = hits + 0.3 * rng.standard_normal(hits.shape)
    noise = rng.standard_normal(hits.shape)
    data = CandidateSet(
        z=np.stack([noise, good, noise[::-1]]).astype(np.float32),
        hits=hits,
        n_relevant=np.minimum(hits.sum(1), 10),
        lengths=np.full(200, 20),
        top_z=np.zeros((3, 200), np.float32),
    )

    weights, ndcg = search_weights(data, np.full(3, 1 / 3))

    assert int(np.argmax(weights)) == 1 and weights[1] > 0.6
    assert ndcg >= data.ndcg(np.full(3, 1 / 3))
    assert weights.sum() == pytest.approx(1.0)


def test_normalise_scales_over_unseen_top_items() -> None:
    scores = np.array([[10.0, 1.0, 2.0, 3.0, -50.0]], np.float32)
    history = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]], np.float32))

    z = normalise(scores, history, candidates=3)

    np.testing.assert_allclose(z[0, 1:4].mean(), 0.0, atol=1e-5)
    assert z[0, 4] == pytest.approx(z[0, 1])  # floored at the last candidate
    assert np.isfinite(z).all()


def test_save_load_keeps_weights_calibration_and_details(tmp_path: Path) -> None:
    model = fitted_hybrid()
    users = model.user_ids_[:3]
    model.save(tmp_path / "hybrid")

    loaded = HybridRecommender.load(tmp_path / "hybrid")

    np.testing.assert_array_equal(loaded.bucket_weights_, model.bucket_weights_)
    np.testing.assert_array_equal(loaded.calibration_, model.calibration_)
    assert (tmp_path / "hybrid" / "members" / "ease" / "params.json").exists()
    assert loaded.recommend_with_details(users, n=3) == model.recommend_with_details(users, n=3)


def test_details_structure_parts_sum_and_explanations() -> None:
    model = fitted_hybrid()
    board = make_checkerboard()

    details = model.recommend_with_details(list(board.withheld), n=3)
    fold_in = model.recommend_with_details(board.data.matrix[:2], n=3)

    assert len(details) == len(board.withheld) and all(len(d) == 3 for d in details)
    assert fold_in[0] == details[0]
    for user, items in zip(board.withheld, details, strict=True):
        first = items[0]
        assert set(first) == {
            "item", "score", "parts", "confidence", "because", "top_member", "fallback"
        }  # fmt: skip
        assert first["item"] == board.withheld[user]
        assert sum(first["parts"].values()) == pytest.approx(first["score"], rel=1e-4, abs=1e-4)
        assert 0.0 <= first["confidence"] <= 1.0
        assert first["top_member"] in FAST_MEMBERS
        cluster_items = {
            str(i) for i in board.data.item_ids if board.clusters[user] == int(i[-2:]) // 5
        }
        assert first["because"] in cluster_items  # a co-listened history item, raw id
        assert not first["fallback"]


def test_low_confidence_falls_back_to_popular_items() -> None:
    model = fitted_hybrid()
    strict = HybridRecommender.tiny(members=FAST_MEMBERS)
    strict.__dict__.update(model.__dict__)
    strict.fallback_threshold = 1.01  # no confidence reaches it

    items = strict.recommend_with_details(model.user_ids_[:1], n=2)[0]

    assert all(d["fallback"] and d["because"] is None for d in items)
    seen = set(model.item_ids_[model.train_matrix_[0].indices].tolist())
    popular = [model.item_ids_[c] for c in np.argsort(-model.item_popularity_, kind="stable")]
    assert [d["item"] for d in items] == [i for i in popular if i not in seen][:2]


def test_confidence_is_monotone_in_the_score_on_a_synthetic_case() -> None:
    rng = np.random.default_rng(1)
    score = rng.standard_normal(4000)
    hit = rng.random(4000) < 1 / (1 + np.exp(-(2 * score - 2)))
    x = calibration.features(
        score, np.full(4000, 3.0), np.zeros(4000), np.zeros(4000), np.ones(4000)
    )

    coef = calibration.fit_logistic(x, hit.astype(float))
    grid = np.linspace(-2, 2, 9)
    p = calibration.predict(
        coef, calibration.features(grid, np.full(9, 3.0), np.zeros(9), np.zeros(9), np.ones(9))
    )

    assert np.all(np.diff(p) > 0)
    rows = calibration.reliability_table(calibration.predict(coef, x), hit)
    rates = [r["hit_rate"] for r in rows if r["count"] >= 100]
    assert rates == sorted(rates)


def test_cli_evaluates_the_hybrid_with_tiny_members(lastfm_small: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    report = tmp_path / "eval.json"

    status = main(
        ["evaluate", "--train", str(lastfm_small), "--protocol", "weak", "--model", "hybrid",
         "ease", "--tiny", "--k", "5", "--json", str(report)],
        out=out,
    )  # fmt: skip

    assert status == 0
    results = json.loads(report.read_text())["results"]
    assert list(results) == ["hybrid", "ease"]
    assert 0.0 <= results["hybrid"]["metrics"]["ndcg"] <= 1.0
    assert "hybrid" in out.getvalue()


def test_isotonic_step_is_monotone_and_flat_beyond_its_ends() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(5000)
    y = (rng.random(5000) < np.where(p > 0.8, 0.3, p)).astype(float)  # a dip at the top

    curve = calibration.fit_isotonic(p, y)
    mapped = np.interp(np.linspace(0, 1, 101), curve[0], curve[1])

    assert np.all(np.diff(curve[1]) >= 0) and np.all(np.diff(mapped) >= 0)
    assert calibration.fit_isotonic(p[:10], y[:10]).shape == (2, 0)


def test_shrinkage_pulls_noise_fitted_weights_back_to_the_start() -> None:
    rng = np.random.default_rng(3)
    hits = rng.random((300, 30)) < 0.1
    pure_noise = rng.standard_normal((2, *hits.shape)).astype(np.float32)
    data = CandidateSet(
        z=pure_noise, hits=hits, n_relevant=np.minimum(hits.sum(1), 10),
        lengths=np.full(300, 20), top_z=np.zeros((2, 300), np.float32),
    )  # fmt: skip

    weights, _, shrink = search_shrunk_weights(data, np.full(2, 0.5), np.random.default_rng(0))

    assert 0.0 <= shrink <= 1.0 and weights.sum() == pytest.approx(1.0)
    assert np.all(weights >= 0) and np.all(weights <= 1)
