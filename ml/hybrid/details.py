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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ml.base import _check_history
from ml.hybrid import calibration
from ml.hybrid.blend import AGREEMENT_TOP, seen_in_columns, seen_mask_rows

if TYPE_CHECKING:
    from ml.hybrid.estimator import HybridRecommender


def recommend_with_details(
    model: HybridRecommender,
    users: Sequence[Any] | np.ndarray | sp.csr_matrix,
    n: int = 10,
    context: Mapping[str, Any] | None = None,
    weights: Mapping[str, float] | None = None,
    columns: np.ndarray | None = None,
) -> list[list[dict[str, Any]]]:
    """Details for known users (raw ids) or for history rows over the item index (fold-in).

    ``columns`` restricts the ranking to those item columns (the serving path's retrieved
    candidates): members score and are normalised over them only.

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
    if columns is None:
        space = np.arange(model.n_items)
        z = model.member_scores(history)
        seen = seen_mask_rows(history)
    else:
        space = np.asarray(columns, np.int64)
        if not len(space):
            return [[] for _ in range(history.shape[0])]
        z = model.member_scores_for_columns(history, space)
        seen = seen_in_columns(history, space)
    member_masked = z.copy()
    member_masked[:, *seen] = -np.inf
    a = min(AGREEMENT_TOP, len(space)) - 1
    top_z = -np.partition(-member_masked, a, axis=2)[:, :, a]
    rows_seen = seen[0]
    return [
        details_prepared(
            model,
            Prepared(history[u], space, z[:, u], seen[1][rows_seen == u], None, top_z[:, u]),
            n=n,
            context=context,
            weights=weights,
        )
        for u in range(history.shape[0])
    ]


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


@dataclass
class Prepared:
    """One listener's per-history work for :func:`details_prepared`, reusable across requests.

    Everything here depends only on the history row and the candidate columns, so the serving
    path computes it once per listener state; a request then only blends with the current
    (online) weights, masks exclusions and explains the top items.
    """

    history: sp.csr_matrix  # one row
    space: np.ndarray  # candidate item columns
    z: np.ndarray  # members x candidates (normalised member scores)
    seen: np.ndarray  # positions in ``space`` that the history holds
    because: list[Any] | None = None  # per position: raw id or None (None: on demand)
    top_z: np.ndarray | None = None  # each member's AGREEMENT_TOP-th best unseen score


def prepare_row(model: HybridRecommender, history: sp.csr_matrix, columns: np.ndarray) -> Prepared:
    """Member scores, seen positions and "because" items of one history row over ``columns``."""
    model._require_fitted()
    history = sp.csr_matrix(history, dtype=np.float32)
    space = np.asarray(columns, np.int64)
    z = model.member_scores_for_columns(history, space)[:, 0, :]
    seen = seen_in_columns(history, space)[1]
    member_masked = z.copy()
    member_masked[:, seen] = -np.inf
    a = min(AGREEMENT_TOP, len(space)) - 1
    top_z = -np.partition(-member_masked, a, axis=1)[:, a] if len(space) else np.zeros(0)
    return Prepared(history, space, z, seen, _because(model, history, space), top_z)


def details_prepared(
    model: HybridRecommender,
    prep: Prepared,
    n: int = 10,
    context: Mapping[str, Any] | None = None,
    weights: Mapping[str, float] | None = None,
    exclude: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """:func:`recommend_with_details` for a prepared row; ``exclude`` are item columns to drop."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not len(prep.space):
        return []
    w = model.row_weights(np.array([prep.history.nnz]), context, weights)[0]
    parts = w[:, None] * prep.z
    blended = parts.sum(axis=0)
    unseen = blended.copy()
    unseen[prep.seen] = -np.inf
    top_z = prep.top_z
    assert top_z is not None, "prepare_row fills top_z"
    masked = unseen.copy()
    if exclude is not None and len(exclude):
        masked[np.isin(prep.space, exclude)] = -np.inf
    cols = _top(masked, n)
    confidence = _confidence(model, blended, unseen, cols, prep.z, top_z, prep.history)
    fallback = not len(cols) or float(confidence.max()) < model.fallback_threshold
    if fallback:
        popular = np.where(np.isfinite(masked), model.item_popularity_[prep.space], -np.inf)
        cols = _top(popular, n)
        confidence = _confidence(model, blended, unseen, cols, prep.z, top_z, prep.history)
    if fallback:
        because: list[Any] = [None] * len(cols)
    elif prep.because is not None:
        because = [prep.because[c] for c in cols.tolist()]
    else:
        because = _because(model, prep.history, prep.space[cols])
    return [
        {
            "item": model.item_ids_[prep.space[c]].item(),
            "score": float(blended[c]),
            "parts": {name: float(parts[m, c]) for m, name in enumerate(model.member_names)},
            "confidence": float(confidence[k]),
            "because": because[k],
            "top_member": model.member_names[int(np.argmax(parts[:, c]))],
            "fallback": fallback,
        }
        for k, c in enumerate(cols.tolist())
    ]
