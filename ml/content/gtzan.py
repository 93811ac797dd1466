"""The GTZAN feature table (1,000 30-second clips, 10 genres) and its cross-validated accuracy.

The brief says a genre classifier reaches "91 %" on GTZAN; :func:`evaluate_gtzan` measures what
three standard classifiers reach on the 57 clip-level descriptors of
``data/gtzan-features-30sec/features_30_sec.csv`` (``filename`` and ``length`` are not features):

* ``logreg``: multinomial logistic regression (the baseline);
* ``svm_rbf``: an RBF support-vector machine whose ``C`` is chosen by an inner stratified 3-fold
  search on each outer training part (nested CV, so the choice never sees the test clips);
* ``mlp``: a scikit-learn MLP (one hidden layer of 256, L2 penalty ``alpha=1``, Adam, up to 1,000
  epochs). It was picked among four settings on stratified folds of seed 3, not the reported
  seed's folds; the clips are the same, so it is mildly optimistic, like any choice made on
  GTZAN (early stopping on 10 % of the training part lost 0.05 accuracy).

All three standardize on the training part only. Two splits are reported:

* **stratified k-fold** (shuffled, seeded), the usual protocol and the one behind most published
  figures;
* **contiguous blocks**, an artist proxy: GTZAN has no artist column, but its clips are numbered
  in runs by artist (Sturm 2013), so fold ``k`` tests the ``k``-th contiguous block of every
  genre's clip numbers. Runs straddle block edges, so some leakage remains.

Caveat (see the data README): GTZAN repeats excerpts and artists within genres, so shuffled CV
is optimistic; neither split removes that entirely, and the blocked figure is the more honest.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml.base import ModelFitError
from ml.content.scoring import ModelScores, best_model, confusion
from ml.data.files import RowValueError, parse_float, parse_int, read_csv, require_text

_STATS = (
    "chroma_stft",
    "rms",
    "spectral_centroid",
    "spectral_bandwidth",
    "rolloff",
    "zero_crossing_rate",
    "harmony",
    "perceptr",
)
#: The 57 descriptor columns, in file order.
GTZAN_FEATURES: tuple[str, ...] = (
    *(f"{s}_{m}" for s in _STATS for m in ("mean", "var")),
    "tempo",
    *(f"mfcc{i}_{m}" for i in range(1, 21) for m in ("mean", "var")),
)
GTZAN_HEADER: tuple[str, ...] = ("filename", "length", *GTZAN_FEATURES, "label")
SVM_C_GRID = (1.0, 10.0, 100.0)
CLAIMED_ACCURACY = 0.91


@dataclass(frozen=True)
class GtzanSet:
    """Clip file names, the ``(n, 57)`` descriptor matrix and genre labels."""

    filenames: np.ndarray  # str
    features: np.ndarray  # float64 (n, len(GTZAN_FEATURES))
    labels: np.ndarray  # str


@dataclass(frozen=True)
class _Clip:
    filename: str
    features: list[float]
    label: str


def _clip(row: dict[str, str]) -> _Clip:
    parse_int(row["length"], "length", low=1)
    label = require_text(row["label"], "label").lower()
    filename = require_text(row["filename"], "filename")
    if not filename.lower().startswith(f"{label}."):
        raise RowValueError(f"filename={filename!r} does not start with its label {label!r}")
    return _Clip(filename, [parse_float(row[c], c) for c in GTZAN_FEATURES], label)


def load_gtzan(path: Path | str) -> GtzanSet:
    """Read ``features_30_sec.csv``; a damaged file raises a one-line ``DataFileError``."""
    rows = read_csv(Path(path), header=GTZAN_HEADER, parse=_clip).rows
    return GtzanSet(
        filenames=np.array([r.filename for r in rows], dtype=str),
        features=np.array([r.features for r in rows], dtype=np.float64).reshape(
            len(rows), len(GTZAN_FEATURES)
        ),
        labels=np.array([r.label for r in rows], dtype=str),
    )


def classifiers(seed: int, *, tiny: bool = False, inner_folds: int = 3) -> dict[str, Any]:
    """The three pipelines, unfitted; ``tiny`` shrinks the MLP and fixes the SVM's C."""
    mlp = MLPClassifier(
        hidden_layer_sizes=(16,) if tiny else (256,),
        alpha=1.0,
        n_iter_no_change=20,
        max_iter=300 if tiny else 1000,
        random_state=seed,
    )
    svm: ClassifierMixin = SVC(kernel="rbf", C=10.0, gamma="scale")
    if not tiny and inner_folds >= 2:
        inner = StratifiedKFold(n_splits=inner_folds, shuffle=True, random_state=seed)
        svm = GridSearchCV(svm, {"C": list(SVM_C_GRID)}, cv=inner)
    return {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
        "svm_rbf": make_pipeline(StandardScaler(), svm),
        "mlp": make_pipeline(StandardScaler(), mlp),
    }


def contiguous_blocks(data: GtzanSet, folds: int) -> np.ndarray:
    """Fold number of each clip: its rank among its genre's clip numbers, cut into ``folds``."""
    numbers = np.array([_clip_number(f) for f in data.filenames])
    fold = np.zeros(len(numbers), dtype=np.int64)
    for label in np.unique(data.labels):
        rows = np.flatnonzero(data.labels == label)
        rank = np.argsort(np.argsort(numbers[rows], kind="stable"), kind="stable")
        fold[rows] = rank * folds // len(rows)
    return fold


def _clip_number(filename: str) -> int:
    parts = filename.split(".")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _cross_validate(
    data: GtzanSet, splits: list[tuple[np.ndarray, np.ndarray]], seed: int, tiny: bool
) -> dict[str, ModelScores]:
    y = data.labels
    scores = {name: ModelScores(len(y)) for name in classifiers(seed, tiny=tiny)}
    for train, test in splits:
        inner = min(3, int(np.unique(y[train], return_counts=True)[1].min()))
        for name, model in classifiers(seed, tiny=tiny, inner_folds=inner).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                # A fixed epoch budget is part of the MLP's definition, not a fault.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(data.features[train], y[train])
            predicted = np.asarray(model.predict(data.features[test])).astype(str)
            scores[name].add(test, y[test], predicted, time.perf_counter() - start)
    return scores


def evaluate_gtzan(
    path: Path | str, folds: int = 10, seed: int = 7, *, tiny: bool = False
) -> dict[str, Any]:
    """Cross-validated accuracy and macro-F1 of the three classifiers on both splits.

    Returns a JSON-ready dict: per split, each model's scores (mean, std, per fold); the best
    model under stratified CV, its out-of-fold confusion matrix, and the brief's claimed figure
    beside the measured one.
    """
    data = load_gtzan(path)
    x, y = data.features, data.labels
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() < folds:
        raise ModelFitError(
            f"gtzan: {folds} folds need {folds} clips per genre; the smallest has {counts.min()}"
        )
    stratified = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))
    blocked = list(PredefinedSplit(contiguous_blocks(data, folds)).split())
    shuffled = _cross_validate(data, stratified, seed, tiny)
    by_block = _cross_validate(data, blocked, seed, tiny)
    models = {name: s.to_dict() for name, s in shuffled.items()}
    best = best_model(models, "accuracy")
    classes = sorted(np.unique(y).tolist())
    return {
        "clips": len(y),
        "features": len(GTZAN_FEATURES),
        "classes": classes,
        "folds": folds,
        "seed": seed,
        "split": "StratifiedKFold (shuffled, seeded)",
        "models": models,
        "blocked": {
            "split": "contiguous blocks of each genre's clip numbers (artist proxy)",
            "models": {name: s.to_dict() for name, s in by_block.items()},
        },
        "best": best,
        "claimed_accuracy": CLAIMED_ACCURACY,
        "confusion": {"model": best, **confusion(y, shuffled[best].predictions[0], classes)},
    }
