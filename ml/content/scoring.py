"""Cross-validation bookkeeping shared by the genre, GTZAN and mood evaluations.

Every evaluation reports each model's per-fold scores plus their mean and standard deviation
(sample standard deviation, ``ddof=1``, over folds) and an out-of-fold confusion matrix: every
example is predicted once, by the model of the fold that held it out, and the counts are summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

#: The scores every classifier gets in every fold.
SCORES = ("accuracy", "macro_f1")


def fold_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (the unweighted mean of per-class F1 over the classes present)."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0.0)),
    }


def summary(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "std", "folds"}``; ``std`` is 0 for a single value."""
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "folds": [float(v) for v in array]}


class ModelScores:
    """Collects one model's fold scores and its out-of-fold predictions."""

    def __init__(self, n: int, repeats: int = 1) -> None:
        self.folds: list[dict[str, float]] = []
        #: (repeats, n) out-of-fold predictions ("" where not predicted yet)
        self.predictions = np.full((repeats, n), "", dtype=object)
        self.fit_seconds = 0.0

    def add(
        self,
        rows: np.ndarray,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        seconds: float,
        repeat: int = 0,
    ) -> None:
        """Score one fold: ``rows`` are the held-out rows, ``repeat`` the CV repetition."""
        self.folds.append(fold_scores(y_true, y_pred))
        self.predictions[repeat, rows] = y_pred
        self.fit_seconds += seconds

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: summary([f[name] for f in self.folds]) for name in SCORES}
        out["fit_seconds"] = round(self.fit_seconds, 3)
        return out


def confusion(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """``{"labels", "matrix"}``: rows are true classes, columns predicted, in ``labels`` order."""
    matrix = confusion_matrix(y_true.astype(str), y_pred.astype(str), labels=list(labels))
    return {"labels": list(labels), "matrix": matrix.astype(int).tolist()}


def best_model(models: dict[str, dict[str, Any]], score: str) -> str:
    """The model with the highest mean ``score`` (ties: the first listed)."""
    return max(models, key=lambda name: models[name][score]["mean"])
