"""GenreClassifier (PyTorch MLP) and the artist-split genre evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.base import ModelFitError, ModelLoadError, NotFittedError
from ml.content.features import FEATURES, TrackTable, load_catalogue
from ml.content.genre import (
    GenreClassifier,
    GenreConfig,
    _validation_split,
    artist_folds,
    evaluate_genres,
)

CATALOGUE = Path(__file__).resolve().parents[2] / "fixtures" / "catalogue_small.csv"


def separable(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four genres set by the signs of two feature columns (well apart), 40 "artists"."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    quadrant = rng.integers(0, 4, n)
    x[:, 0] = np.where(quadrant % 2, 2.0, -2.0) + 0.3 * rng.normal(size=n)
    x[:, 1] = np.where(quadrant // 2, 2.0, -2.0) + 0.3 * rng.normal(size=n)
    labels = np.array(["edm", "pop", "rap", "rock"])[quadrant]
    groups = np.array([f"artist-{i % 40}" for i in range(n)])
    return x, labels, groups


@pytest.fixture(scope="module")
def table() -> TrackTable:
    return load_catalogue(CATALOGUE)


def test_learns_a_separable_signal_with_probabilities_that_sum_to_one() -> None:
    x, y, groups = separable()
    model = GenreClassifier.tiny().fit(x[:300], y[:300], groups=groups[:300])

    proba = model.predict_proba(x[300:])
    assert proba.shape == (100, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert model.classes_.tolist() == ["edm", "pop", "rap", "rock"]
    assert (model.predict(x[300:]) == y[300:]).mean() > 0.9


def test_training_is_seeded_and_reproducible() -> None:
    x, y, groups = separable(200)
    a = GenreClassifier.tiny(dropout=0.2).fit(x, y, groups=groups)
    b = GenreClassifier.tiny(dropout=0.2).fit(x, y, groups=groups)

    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_arrays_round_trip_through_npz_gives_identical_predictions(tmp_path: Path) -> None:
    x, y, groups = separable(200)
    model = GenreClassifier.tiny(hidden=(8, 8)).fit(x, y, groups=groups)

    arrays: dict[str, Any] = {f"genre_{k}": v for k, v in model.to_arrays().items()}
    np.savez(tmp_path / "genre.npz", **arrays)
    with np.load(tmp_path / "genre.npz", allow_pickle=False) as stored:
        loaded = GenreClassifier.from_arrays(
            {k.removeprefix("genre_"): stored[k] for k in stored.files}
        )

    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.classes_.tolist() == model.classes_.tolist()
    assert loaded.get_params() == model.get_params()


def test_early_stopping_split_is_grouped_by_artist() -> None:
    _, _, groups = separable(400)
    fit_rows, valid_rows = _validation_split(400, groups, GenreConfig())

    assert len(valid_rows) > 0
    assert not set(groups[fit_rows]) & set(groups[valid_rows])


def test_early_stopping_keeps_the_best_epoch() -> None:
    x, y, groups = separable(300)
    model = GenreClassifier.tiny(epochs=30, patience=3).fit(x, y, groups=groups)

    best = min(e["valid_loss"] for e in model.training_log_)
    assert model.training_log_[model.best_epoch_ - 1]["valid_loss"] == best
    assert len(model.training_log_) <= 30


def test_artist_folds_never_put_an_artist_on_both_sides(table: TrackTable) -> None:
    folds = artist_folds(table.artist_keys, 3, seed=1)

    assert len(folds) == 3
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(len(table)))  # every track tested once
    for train, test in folds:
        assert not set(table.artist_keys[train]) & set(table.artist_keys[test])


@pytest.mark.parametrize("level", ["genre", "subgenre"])
def test_evaluation_reports_the_mlp_against_its_baselines(table: TrackTable, level: str) -> None:
    result = evaluate_genres(table, level, folds=2, seed=3, tiny=True)

    assert result["artists_in_both"] == 0 and result["folds"] == 2
    assert list(result["models"]) == ["mlp", "logreg", "majority"]
    for scores in result["models"].values():
        assert len(scores["accuracy"]["folds"]) == 2
        assert 0.0 <= scores["macro_f1"]["mean"] <= 1.0
    matrix = np.array(result["confusion"]["matrix"])
    assert matrix.shape == (len(result["classes"]),) * 2
    assert matrix.sum() == result["tracks"] == len(table)


def test_bad_input_raises_clear_errors() -> None:
    x, y, groups = separable(50)
    with pytest.raises(NotFittedError):
        GenreClassifier.tiny().predict_proba(x)
    with pytest.raises(ValueError, match=r"shape \(n, 15\)"):
        GenreClassifier.tiny().fit(x[:, :5], y)
    with pytest.raises(ModelFitError, match="two classes"):
        GenreClassifier.tiny().fit(x, np.full(50, "rock"))
    with pytest.raises(ModelFitError, match="groups"):
        GenreClassifier.tiny().fit(x, y, groups=groups[:10])
    with pytest.raises(ValueError, match=r"GenreConfig\.dropout=1\.5"):
        GenreConfig(dropout=1.5)
    model = GenreClassifier.tiny().fit(x, y)
    arrays = model.to_arrays()
    del arrays["weight0"]
    with pytest.raises(ModelLoadError, match="weight0"):
        GenreClassifier.from_arrays(arrays)
    with pytest.raises(ModelFitError, match="5 folds need at least 5 artists"):
        artist_folds(np.array(["a", "b", "a"]), 5, seed=0)
