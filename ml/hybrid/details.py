"""Per-item details of hybrid recommendations: parts, confidence, explanation, fallback.

For every recommended item: the blended ``score``; ``parts`` (each member's weighted normalised
score; they sum to the score); ``confidence`` (the calibrated hit probability); ``top_member``
(the largest part); ``because`` (the raw id of the history item most often played by the same
listeners as the recommended item, cosine over the training matrix: "because you play X"; None
when none co-occurs) and ``fallback``. When a user's best confidence is below the model's
``fallback_threshold`` the list is replaced by the most popular unseen items, marked
``fallback: True``, so the caller can say "popular right now" instead of a weak guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ml.base import _check_history
from ml.hybrid import calibration
from ml.hybrid.blend import AGREEMENT_TOP, seen_mask_rows

if TYPE_CHECKING:
    from ml.hybrid.estimator import HybridRecommender


def recommend_with_details(
    model: HybridRecommender,
    users: Sequence[Any] | np.ndarray | sp.csr_matrix,
    n: int = 10,
    context: Mapping[str, Any] | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[list[dict[str, Any]]]:
    """Details for known users (raw ids) or for history rows over the item index (fold-in).

    ``context`` may carry ``cold_start`` (use the shortest-history weights) and ``group_size``
    (echoed for the bandit's bucket; the offline weights do not depend on it); ``weights``
    (``{member: weight}``, e.g. from :class:`ml.hybrid.bandit.BlendBandit`) overrides the
    learned weights.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    model._require_fitted()
    if sp.issparse(users):
        history = _check_history(users, model.n_items)
    else:
        history = sp.csr_matrix(model.train_matrix_[model.user_rows(users)], dtype=np.float32)
    z = model.member_scores(history)
    w = model.row_weights(np.diff(history.indptr), context, weights)
    parts = np.einsum("um,mui->mui", w, z)
    blended = parts.sum(axis=0)
    masked = blended.copy()
    masked[seen_mask_rows(history)] = -np.inf
    member_masked = z.copy()
    member_masked[:, *seen_mask_rows(history)] = -np.inf
    a = min(AGREEMENT_TOP, model.n_items) - 1
    top_z = -np.partition(-member_masked, a, axis=2)[:, :, a]
    out = []
    for u in range(history.shape[0]):
        cols = _top(masked[u], n)
        confidence = _confidence(
            model, blended[u], masked[u], cols, z[:, u], top_z[:, u], history[u]
        )
        fallback = not len(cols) or float(confidence.max()) < model.fallback_threshold
        if fallback:
            popular = np.where(np.isfinite(masked[u]), model.item_popularity_, -np.inf)
            cols = _top(popular, n)
            confidence = _confidence(
                model, blended[u], masked[u], cols, z[:, u], top_z[:, u], history[u]
            )
        because = [None] * len(cols) if fallback else _because(model, history[u], cols)
        out.append(
            [
                {
                    "item": model.item_ids_[c].item(),
                    "score": float(blended[u, c]),
                    "parts": {
                        name: float(parts[m, u, c]) for m, name in enumerate(model.member_names)
                    },
                    "confidence": float(confidence[k]),
                    "because": because[k],
                    "top_member": model.member_names[int(np.argmax(parts[:, u, c]))],
                    "fallback": fallback,
                }
                for k, c in enumerate(cols.tolist())
            ]
        )
    return out


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    finite = np.flatnonzero(np.isfinite(scores))
    order = finite[np.argsort(-scores[finite], kind="stable")]
    out: np.ndarray = order[:n]
    return out


def _confidence(
    model: HybridRecommender,
    blended: np.ndarray,
    masked: np.ndarray,
    cols: np.ndarray,
    z: np.ndarray,
    top_z: np.ndarray,
    history: sp.csr_matrix,
) -> np.ndarray:
    """Calibrated P(hit) of items ``cols`` (rank = position in the blended order)."""
    if not len(cols):
        return np.zeros(0)
    best = float(np.max(masked[np.isfinite(masked)]))
    rank = (masked[None, :] > blended[cols][:, None]).sum(axis=1)
    agreement = (z[:, cols] >= top_z[:, None]).mean(axis=0)
    x = calibration.features(
        blended[cols], np.full(len(cols), best), rank, agreement, np.full(len(cols), history.nnz)
    )
    return calibration.predict(model.calibration_, x, model.isotonic_)


def _because(model: HybridRecommender, history: sp.csr_matrix, cols: np.ndarray) -> list[Any]:
    """For each column, the raw id of the most co-listened history item (None if none)."""
    if history.nnz == 0 or not len(cols):
        return [None] * len(cols)
    if getattr(model, "_binary_csc", None) is None:
        binary = sp.csc_matrix(model.train_matrix_, dtype=np.float32, copy=True)
        binary.data = (binary.data > 0).astype(np.float32)
        model._binary_csc = binary
    x = model._binary_csc
    assert x is not None
    norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
    mine = history.indices
    sim = np.asarray((x[:, mine].T @ x[:, cols]).toarray())
    sim /= norms[mine][:, None] * norms[cols][None, :] + 1e-9
    best = sim.argmax(axis=0)
    return [model.item_ids_[mine[b]].item() if sim[b, k] > 0 else None for k, b in enumerate(best)]
