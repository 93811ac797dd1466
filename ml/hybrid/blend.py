"""Score normalisation, context buckets and the blend-weight search of the hybrid.

Members score on incomparable scales (EASE's regression weights, ALS dot products, NCF logits,
cosines), so each member's scores are z-normalised per user over that member's top
``candidates`` unseen items and floored at the last of them: below its top list a member
expresses no preference. The blend is a per-row weighted sum of the normalised scores, with
the weights of the row's context bucket.

The weights are found by coordinate ascent over the simplex, maximising NDCG@10 on a
validation set. To keep every trial cheap, each validation user is reduced to a fixed number of
candidate items (those that some member ranks high) with their normalised member scores and
hit labels: :class:`CandidateSet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

#: History-length bucket edges: ``<= 3``, ``4-10``, ``11-30``, ``> 30`` items.
DEFAULT_BUCKETS = (3, 10, 30)
#: Relative weight values tried for one member while the others keep their ratios.
DEFAULT_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.5, 2.5)
K = 10
#: how many members' top items count for the "agreement" of an item
AGREEMENT_TOP = 20


def bucket_names(edges: Sequence[int]) -> list[str]:
    """Readable names of the buckets defined by ``edges`` (``h<=3``, ``h4-10``, ..., ``h>30``)."""
    names = [f"h<={edges[0]}"] if edges else []
    names += [f"h{lo + 1}-{hi}" for lo, hi in pairwise(edges)]
    return [*names, f"h>{edges[-1]}" if edges else "all"]


def bucket_of(lengths: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """Bucket index of each history length (``edges`` are inclusive upper bounds)."""
    return np.searchsorted(np.asarray(edges), np.asarray(lengths), side="left").astype(np.int64)


def seen_mask_rows(history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(row, column)`` index arrays of the items in each history row."""
    rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
    return rows, history.indices


def seen_in_columns(history: sp.csr_matrix, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`seen_mask_rows` expressed as positions in ``columns`` (items outside are dropped)."""
    position = np.full(history.shape[1], -1, np.int64)
    position[np.asarray(columns, np.int64)] = np.arange(len(columns))
    rows, cols = seen_mask_rows(history)
    pos = position[cols]
    keep = pos >= 0
    return rows[keep], pos[keep]


def normalise(
    scores: np.ndarray,
    history: sp.csr_matrix,
    candidates: int,
    seen: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-row z-scores over the row's top ``candidates`` unseen items, floored at the last one.

    Seen items keep a finite (floored) value so ``exclude_seen=False`` still ranks them.
    ``seen`` gives the seen cells when ``scores`` covers only some columns (serving).
    """
    s = np.asarray(scores, dtype=np.float32)
    masked = s.copy()
    masked[seen_mask_rows(history) if seen is None else seen] = -np.inf
    c = max(1, min(candidates, s.shape[1]))
    top = -np.partition(-masked, c - 1, axis=1)[:, :c]
    top = np.where(np.isfinite(top), top, np.nan)
    mu = np.nan_to_num(np.nanmean(top, axis=1, keepdims=True)) if c else 0.0
    sd = np.nan_to_num(np.nanstd(top, axis=1, keepdims=True))
    floor = np.nan_to_num(np.nanmin(top, axis=1, keepdims=True))
    out: np.ndarray = ((np.maximum(s, floor) - mu) / (sd + 1e-6)).astype(np.float32)
    return out


@dataclass(frozen=True)
class CandidateSet:
    """Validation users reduced to candidate items.

    ``z`` is ``members x users x candidates`` (normalised member scores), ``hits`` marks held-out
    items, ``n_relevant`` is each user's number of held-out items (for the ideal DCG, capped at
    ``K``), ``lengths`` each user's history length and ``top_z`` each member's
    :data:`AGREEMENT_TOP`-th best score per user (``members x users``).
    """

    z: np.ndarray
    hits: np.ndarray
    n_relevant: np.ndarray
    lengths: np.ndarray
    top_z: np.ndarray

    @classmethod
    def build(
        cls, z: np.ndarray, history: sp.csr_matrix, held_out: sp.csr_matrix, width: int
    ) -> CandidateSet:
        """From dense normalised member scores ``z`` (members x users x items)."""
        masked = z.max(axis=0)
        masked[seen_mask_rows(history)] = -np.inf
        width = min(width, z.shape[2])
        cols = np.argpartition(-masked, width - 1, axis=1)[:, :width]
        picked = np.take_along_axis(z, np.broadcast_to(cols, (z.shape[0], *cols.shape)), 2)
        held = sp.csr_matrix(held_out)
        hits = np.asarray(held[np.repeat(np.arange(len(cols)), width), cols.ravel()])
        member_masked = z.copy()
        member_masked[:, *seen_mask_rows(history)] = -np.inf
        a = min(AGREEMENT_TOP, z.shape[2]) - 1
        top_z = -np.partition(-member_masked, a, axis=2)[:, :, a]
        return cls(
            z=picked.astype(np.float32),
            hits=hits.reshape(cols.shape) > 0,
            n_relevant=np.minimum(np.diff(held.indptr), K).astype(np.int64),
            lengths=np.diff(history.indptr).astype(np.int64),
            top_z=top_z.astype(np.float32),
        )

    @classmethod
    def concat(cls, parts: Sequence[CandidateSet]) -> CandidateSet:
        width = min(p.z.shape[2] for p in parts)
        return cls(
            z=np.concatenate([p.z[:, :, :width] for p in parts], axis=1),
            hits=np.concatenate([p.hits[:, :width] for p in parts]),
            n_relevant=np.concatenate([p.n_relevant for p in parts]),
            lengths=np.concatenate([p.lengths for p in parts]),
            top_z=np.concatenate([p.top_z for p in parts], axis=1),
        )

    def subset(self, rows: np.ndarray) -> CandidateSet:
        return CandidateSet(
            self.z[:, rows],
            self.hits[rows],
            self.n_relevant[rows],
            self.lengths[rows],
            self.top_z[:, rows],
        )

    def blend(self, weights: np.ndarray) -> np.ndarray:
        """Blended scores (users x candidates); weights: ``members`` or ``users x members``."""
        w = np.asarray(weights, np.float32)
        if w.ndim == 1:
            return np.tensordot(w, self.z, axes=1)
        out: np.ndarray = np.einsum("um,muc->uc", w, self.z)
        return out

    def ndcg(self, weights: np.ndarray) -> float:
        """Mean NDCG@10 of the blend (users without held-out items are left out)."""
        ok = self.n_relevant > 0
        if not ok.any():
            return 0.0
        scores = self.blend(weights)[ok]
        k = min(K, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        hits = np.take_along_axis(self.hits[ok], np.take_along_axis(top, order, 1), 1)
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = np.cumsum(1.0 / np.log2(np.arange(2, K + 2)))[self.n_relevant[ok] - 1]
        return float(((hits * discounts).sum(axis=1) / ideal).mean())


def search_weights(
    data: CandidateSet,
    start: np.ndarray,
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 3,
) -> tuple[np.ndarray, float]:
    """Coordinate ascent over the simplex from ``start``; returns ``(weights, NDCG@10)``.

    Each step sets one member's relative weight to each ``grid`` value (the others keep their
    ratios) and keeps the best; it stops after ``rounds`` sweeps or when a sweep gains nothing.
    """
    best_w = _on_simplex(start)
    best = data.ndcg(best_w)
    for _ in range(rounds):
        improved = False
        for m in range(len(best_w)):
            for value in grid:
                trial = best_w.copy()
                rest = 1.0 - trial[m]
                trial[m] = value * (rest if rest > 0 else 1.0)
                if trial.sum() <= 0:
                    continue
                trial = _on_simplex(trial)
                score = data.ndcg(trial)
                if score > best + 1e-6:
                    best, best_w, improved = score, trial, True
        if not improved:
            break
    return best_w, best


def _on_simplex(w: np.ndarray) -> np.ndarray:
    w = np.maximum(np.asarray(w, np.float64), 0.0)
    total = w.sum()
    out: np.ndarray = (w / total if total > 0 else np.full(len(w), 1.0 / len(w))).astype(np.float32)
    return out


#: shrinkage toward the start weights tried by :func:`search_shrunk_weights`
SHRINKAGE = (0.0, 0.25, 0.5, 0.75, 1.0)


def search_shrunk_weights(
    data: CandidateSet,
    start: np.ndarray,
    rng: np.random.Generator,
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 3,
) -> tuple[np.ndarray, float, float]:
    """:func:`search_weights`, shrunk toward ``start`` by a two-fold cross-validated amount.

    The users are split in two halves (seeded); weights searched on one half are mixed with
    ``start`` (``(1 - s) w + s start`` for ``s`` in :data:`SHRINKAGE`) and scored on the other
    half. The ``s`` with the best summed held-half NDCG is applied to the weights searched on
    all users, so a search that fits the validation noise is pulled back toward ``start``.
    Returns ``(weights, validation NDCG@10 of them, s)``.
    """
    start = _on_simplex(start)
    order = rng.permutation(len(data.lengths))
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    gains = np.zeros(len(SHRINKAGE))
    for fit_rows, held_rows in (halves, halves[::-1]):
        if len(fit_rows) == 0 or len(held_rows) == 0:
            continue
        w, _ = search_weights(data.subset(fit_rows), start, grid, rounds)
        held = data.subset(held_rows)
        gains += [held.ndcg(_on_simplex((1 - s) * w + s * start)) for s in SHRINKAGE]
    shrink = SHRINKAGE[int(np.argmax(gains))]
    w, _ = search_weights(data, start, grid, rounds)
    final = _on_simplex((1 - shrink) * w + shrink * start)
    return final, data.ndcg(final), shrink
