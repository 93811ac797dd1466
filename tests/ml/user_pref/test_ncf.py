"""NCF (NeuMF over user histories): the shared contract on a tiny config, plus its own promises."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from ml.base import BaseRecommender, ModelLoadError
from ml.data.interactions import load
from ml.user_pref.config import NCFConfig
from ml.user_pref.estimator import NCFRecommender
from tests.ml.conftest import Checkerboard
from tests.ml.contract import RecommenderContract

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lastfm-small"


class TestNCF(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return NCFRecommender.tiny(validation_fraction=0.0)


def test_config_rejects_bad_values_with_the_field_name() -> None:
    with pytest.raises(ValueError, match=r"NCFConfig\.embedding_dim=0"):
        NCFConfig(embedding_dim=0)
    with pytest.raises(ValueError, match=r"NCFConfig\.input_dropout=1\.5"):
        NCFConfig(input_dropout=1.5)
    with pytest.raises(ValueError, match="unknown keys colour"):
        NCFConfig.from_dict({"colour": "blue"})


def test_config_round_trips_through_a_dict() -> None:
    config = NCFConfig.tiny()

    assert NCFConfig.from_dict(config.to_dict()) == config
    assert NCFRecommender.from_config(config).config == config


def test_training_is_seeded_and_reproducible(checkerboard: Checkerboard) -> None:
    a = NCFRecommender.tiny(validation_fraction=0.0).fit(checkerboard.data)
    b = NCFRecommender.tiny(validation_fraction=0.0).fit(checkerboard.data)

    users = checkerboard.data.user_ids[:3]
    items = checkerboard.data.item_ids
    np.testing.assert_allclose(a.score(users, items), b.score(users, items), rtol=1e-5)


def test_uses_tag_side_features_and_early_stopping_on_real_data(tmp_path: Path) -> None:
    data = load(FIXTURE)
    model = NCFRecommender.tiny(epochs=30, patience=3, validation_fraction=0.2).fit(data)

    assert model.item_features_.shape == (data.n_items, 50)
    assert 1 <= len(model.training_log_) <= 30
    best = max(e.validation_ndcg for e in model.training_log_)
    assert best >= model.training_log_[0].validation_ndcg
    loaded = NCFRecommender.load(model.save(tmp_path / "ncf"))
    assert [e.epoch for e in loaded.training_log_] == [e.epoch for e in model.training_log_]


def test_fold_in_of_a_new_user_is_fast_and_follows_their_history(
    checkerboard: Checkerboard,
) -> None:
    model = NCFRecommender.tiny(validation_fraction=0.0).fit(checkerboard.data)
    # A newcomer who likes the first cluster's items, minus one of them.
    size = sum(1 for c in checkerboard.clusters.values() if c == 0)
    cluster = checkerboard.data.item_ids[:size].tolist()
    history = model.history_matrix([{item: 5.0 for item in cluster[1:]}])

    timings = []
    for _ in range(20):
        start = time.perf_counter()
        ids, _ = model.recommend_from_history(history, n=1)
        timings.append(time.perf_counter() - start)

    assert ids[0, 0] == cluster[0]
    assert float(np.median(timings)) < 0.05  # the 50 ms real-time budget


def test_loading_weights_that_do_not_fit_the_config_fails_in_one_line(
    checkerboard: Checkerboard, tmp_path: Path
) -> None:
    folder = (
        NCFRecommender.tiny(validation_fraction=0.0).fit(checkerboard.data).save(tmp_path / "m")
    )
    params = (
        (folder / "params.json").read_text().replace('"embedding_dim": 8', '"embedding_dim": 9')
    )
    (folder / "params.json").write_text(params)

    with pytest.raises(ModelLoadError, match="NCF weights do not match its config"):
        NCFRecommender.load(folder)


def test_refit_takes_the_longest_training_validation_cannot_tell_from_the_best() -> None:
    from ml.user_pref.estimator import EpochLog, refit_epochs

    curve = [0.10, 0.150, 0.158, 0.157, 0.1570, 0.150, 0.140]
    log = [EpochLog(i + 1, 1.0, v, 0.0) for i, v in enumerate(curve)]

    assert refit_epochs(log, 0.01) == 5
    assert refit_epochs(log, 0.0) == 3
