"""Confidence: P(the user will play a recommended item), fitted on held-out validation items.

A logistic model over four signals of one recommended item: its blended score, its margin
under the user's best blended score, its rank (log) and how many members put it in their own
top list (agreement), plus the history length (log). It is fitted by Newton's method (numpy
only, saved as a coefficient vector) on the hybrid's internal validation split, so its output
is a calibrated hit probability on data the members never trained on; an isotonic step over
equal-count bins (:func:`fit_isotonic`) then guarantees that a higher logistic output never
maps to a lower confidence and flattens the sparse extremes.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

N_FEATURES = 6
#: how many of each validation user's top blended items train the calibrator
CALIBRATION_TOP = 20


def features(
    score: np.ndarray, top_score: np.ndarray, rank: np.ndarray, agreement: np.ndarray,
    length: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Feature rows (items x :data:`N_FEATURES`) from same-shaped per-item arrays."""
    s = np.asarray(score, np.float64).ravel()
    return np.column_stack(
        [
            np.ones_like(s),
            s,
            np.asarray(top_score, np.float64).ravel() - s,
            np.log1p(np.asarray(rank, np.float64).ravel()),
            np.asarray(agreement, np.float64).ravel(),
            np.log1p(np.asarray(length, np.float64).ravel()),
        ]
    )


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 25
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; returns the coefficients."""
    coef = np.zeros(x.shape[1])
    if len(y) == 0:
        return coef
    prior = float(np.clip(np.mean(y), 1e-4, 1 - 1e-4))
    coef[0] = np.log(prior / (1 - prior))
    penalty = l2 * len(y) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = _sigmoid(x @ coef)
        gradient = x.T @ (p - y) + penalty @ coef
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        coef -= step
        if np.abs(step).max() < 1e-8:
            break
    return coef


def predict(coef: np.ndarray, x: np.ndarray, isotonic: np.ndarray | None = None) -> np.ndarray:
    """Calibrated probabilities in [0, 1] for feature rows ``x``.

    ``isotonic`` (``2 x points``, from :func:`fit_isotonic`) maps the logistic output through a
    monotone, piecewise-linear curve that is flat beyond its ends; empty: the logistic output.
    """
    p = _sigmoid(x @ np.asarray(coef, np.float64))
    if isotonic is None or isotonic.shape[-1] == 0:
        return p
    out: np.ndarray = np.interp(p, isotonic[0], isotonic[1])
    return out


def fit_isotonic(p: np.ndarray, y: np.ndarray, bins: int = 40) -> np.ndarray:
    """A monotone recalibration of probabilities ``p`` against outcomes ``y``.

    The items are sorted by ``p`` and cut into ``bins`` equal-count bins (so no point rests on
    a handful of items); pool-adjacent-violators makes the bins' hit rates non-decreasing.
    Returns ``2 x points``: each bin's mean ``p`` and its pooled hit rate (empty when there are
    too few items to bin).
    """
    p = np.asarray(p, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if len(p) < 10 * bins:
        return np.zeros((2, 0))
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    means = [float(p[g].mean()) for g in groups]
    blocks = [[float(y[g].mean()), float(len(g)), 1.0] for g in groups]  # rate, weight, bins
    pooled: list[list[float]] = []
    for block in blocks:
        pooled.append(block)
        while len(pooled) > 1 and pooled[-2][0] > pooled[-1][0]:
            (r1, w1, n1), (r2, w2, n2) = pooled.pop(-2), pooled.pop()
            pooled.append([(r1 * w1 + r2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    rates = np.concatenate([np.full(int(n), r) for r, _, n in pooled])
    return np.vstack([np.asarray(means), rates])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))
    return out


#: confidence bin edges of the reliability table
RELIABILITY_EDGES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def reliability_table(
    confidence: np.ndarray, hit: np.ndarray, edges: tuple[float, ...] = RELIABILITY_EDGES
) -> list[dict[str, float]]:
    """Rows ``{low, high, count, mean_confidence, hit_rate}`` per non-empty confidence bin."""
    c = np.asarray(confidence, np.float64).ravel()
    h = np.asarray(hit, np.float64).ravel()
    rows = []
    for i, (lo, hi) in enumerate(pairwise(edges)):
        inside = (c >= lo) & ((c < hi) if i < len(edges) - 2 else (c <= hi))
        if inside.any():
            rows.append(
                {
                    "low": lo,
                    "high": hi,
                    "count": float(inside.sum()),
                    "mean_confidence": float(c[inside].mean()),
                    "hit_rate": float(h[inside].mean()),
                }
            )
    return rows
