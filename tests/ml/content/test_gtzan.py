"""The GTZAN reader and its cross-validated evaluation (on 40 real rows, 4 per genre)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.base import ModelFitError
from ml.content.gtzan import GTZAN_FEATURES, contiguous_blocks, evaluate_gtzan, load_gtzan
from ml.data.files import DataFileError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "gtzan_small.csv"
GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae",
          "rock"]  # fmt: skip


def test_reads_the_57_descriptors_and_the_labels() -> None:
    data = load_gtzan(FIXTURE)

    assert len(GTZAN_FEATURES) == 57
    assert data.features.shape == (40, 57)
    assert sorted(set(data.labels.tolist())) == GENRES
    assert data.filenames[0] == "blues.00000.wav"
    assert data.features[0, GTZAN_FEATURES.index("tempo")] == pytest.approx(123.046875)


def test_contiguous_blocks_give_each_fold_a_run_of_every_genre() -> None:
    data = load_gtzan(FIXTURE)

    fold = contiguous_blocks(data, 2)

    for genre in GENRES:
        rows = data.labels == genre
        numbers = [int(f.split(".")[1]) for f in data.filenames[rows]]
        assert fold[rows][np.argsort(numbers)].tolist() == [0, 0, 1, 1]


def test_evaluation_scores_three_classifiers_on_two_splits() -> None:
    result = evaluate_gtzan(FIXTURE, folds=2, seed=1, tiny=True)

    assert list(result["models"]) == ["logreg", "svm_rbf", "mlp"]
    assert list(result["blocked"]["models"]) == ["logreg", "svm_rbf", "mlp"]
    assert result["best"] in result["models"]
    for scores in result["models"].values():
        assert len(scores["accuracy"]["folds"]) == 2
        assert 0.0 <= scores["accuracy"]["mean"] <= 1.0
    assert np.array(result["confusion"]["matrix"]).sum() == 40
    assert result["claimed_accuracy"] == 0.91
    # Clip-level descriptors separate these genres far above chance (0.1) even on 20 clips.
    assert result["models"]["logreg"]["accuracy"]["mean"] > 0.3


def test_too_many_folds_for_the_clips_fail_clearly() -> None:
    with pytest.raises(ModelFitError, match="5 folds need 5 clips per genre"):
        evaluate_gtzan(FIXTURE, folds=5)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda text: text.replace("filename,length", "name,length", 1), "header is"),
        (lambda text: text[: len(text) // 2], "truncated"),
        (lambda text: text.replace(",0.", ",x0.", 400), "malformed"),
        (lambda text: text.split("\n", 1)[0] + "\n", "no data rows"),
    ],
)
def test_damaged_files_fail_in_one_line(damage, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "features_30_sec.csv"
    path.write_text(damage(FIXTURE.read_text()))

    with pytest.raises(DataFileError, match=message) as info:
        load_gtzan(path)
    assert "\n" not in str(info.value)
