"""MoodDetector (Keras) and the stratified k-fold mood evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.base import ModelFitError, ModelLoadError, NotFittedError
from ml.content.features import FEATURES, MOOD_FEATURES, load_moods
from ml.content.mood import MoodConfig, MoodDetector, evaluate_moods
from ml.data.catalogue import MOODS

ROOT = Path(__file__).resolve().parents[3]
MOODS_FIXTURE = ROOT / "tests" / "fixtures" / "data_moods_small.csv"


def separable(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw FEATURES rows whose mood is set by energy and valence (the mood quadrants)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    mood = rng.integers(0, 4, n)
    energy, valence = FEATURES.index("energy"), FEATURES.index("valence")
    high_energy = np.isin(mood, [0, 2])  # happy, energetic
    high_valence = np.isin(mood, [0, 3])  # happy, calm
    x[:, energy] = np.where(high_energy, 0.8, 0.2) + 0.05 * rng.normal(size=n)
    x[:, valence] = np.where(high_valence, 0.8, 0.2) + 0.05 * rng.normal(size=n)
    labels = np.array([m.capitalize() for m in MOODS])[mood]  # the CSV's capitalisation
    return x, labels


@pytest.fixture(scope="module")
def fitted() -> tuple[MoodDetector, np.ndarray, np.ndarray]:
    x, labels = separable()
    return MoodDetector.tiny().fit(x[:180], labels[:180]), x, labels


def test_learns_a_separable_signal(fitted: tuple[MoodDetector, np.ndarray, np.ndarray]) -> None:
    model, x, labels = fitted

    proba = model.predict_proba(x[180:])
    assert proba.shape == (60, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert model.classes_.tolist() == list(MOODS)
    assert (model.predict(x[180:]) == np.char.lower(labels[180:])).mean() > 0.9


def test_reads_only_the_mood_columns(fitted: tuple[MoodDetector, np.ndarray, np.ndarray]) -> None:
    model, x, _ = fitted
    changed = x.copy()
    changed[:, FEATURES.index("mode")] = 17.0  # not in MOOD_FEATURES

    assert "mode" not in MOOD_FEATURES
    np.testing.assert_array_equal(model.predict_proba(changed), model.predict_proba(x))


def test_save_load_round_trip_writes_only_inside_the_folder(
    fitted: tuple[MoodDetector, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    model, x, _ = fitted
    folder = tmp_path / "mood"

    model.save(folder)
    loaded = MoodDetector.load(folder)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["mood"]
    assert sorted(p.name for p in folder.iterdir()) == ["mood.json", "mood.keras"]
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.get_params() == model.get_params()
    assert len(loaded.training_log_) == model.members


def test_training_is_seeded_and_reproducible() -> None:
    x, labels = separable(80)
    a = MoodDetector.tiny(dropout=0.2, input_noise=0.1).fit(x, labels)
    b = MoodDetector.tiny(dropout=0.2, input_noise=0.1).fit(x, labels)

    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_tensorflow_is_not_imported_with_the_module() -> None:
    code = "import sys, ml.content.mood, ml.content.report; print('tensorflow' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert done.stdout.strip() == "False"


def test_evaluation_compares_keras_with_logistic_regression() -> None:
    result = evaluate_moods(load_moods(MOODS_FIXTURE), folds=2, seeds=[3], tiny=True)

    assert list(result["models"]) == ["keras", "logreg"]
    assert len(result["models"]["keras"]["macro_f1"]["folds"]) == 2
    diff = result["keras_minus_logreg_macro_f1"]
    assert 0 <= diff["wins"] <= 2 and len(diff["folds"]) == 2
    matrix = np.array(result["confusion"]["matrix"])
    assert matrix.shape == (4, 4) and matrix.sum() == result["tracks"]
    assert result["confusion"]["labels"] == list(MOODS)


def test_bad_input_raises_clear_errors(tmp_path: Path) -> None:
    x, labels = separable(40)
    with pytest.raises(NotFittedError):
        MoodDetector.tiny().predict_proba(x)
    with pytest.raises(ModelFitError, match="unknown mood 'angry'"):
        MoodDetector.tiny().fit(x, np.where(labels == "Sad", "angry", labels))
    with pytest.raises(ValueError, match=r"shape \(n, 15\)"):
        MoodDetector.tiny().fit(x[:, : len(MOOD_FEATURES)], labels)
    with pytest.raises(ValueError, match=r"MoodConfig\.members=0"):
        MoodConfig(members=0)
    with pytest.raises(ModelLoadError, match=r"no mood\.keras"):
        MoodDetector.load(tmp_path)
    (tmp_path / "mood.keras").write_bytes(b"not a zip")
    (tmp_path / "mood.json").write_text(json.dumps({"model_type": "ncf", "schema": 1}))
    with pytest.raises(ModelLoadError, match="model_type/schema") as info:
        MoodDetector.load(tmp_path)
    assert "\n" not in str(info.value)
