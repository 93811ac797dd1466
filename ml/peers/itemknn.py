"""Item-based nearest neighbours: cosine similarity between item columns, top-k kept per item."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender
from ml.data.interactions import Interactions
from ml.peers import Weighting, check_weighting


class ItemKNNRecommender(BaseRecommender):
    """Item-item collaborative filtering (Sarwar et al. 2001; Deshpande & Karypis 2004).

    ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrink)`` over weighted user columns; for every
    target item only its ``k`` most similar items are kept. A user's score for ``j`` is the sum
    of ``sim(i, j)`` weighted by the user's (weighted) interaction with each history item ``i``,
    so fold-in of a new user is the same product as for a known one.

    ``shrink=200`` with ``log1p`` weights was the best of a grid on a validation split carved
    from Last.fm's ``weak`` training split (validation NDCG@10 0.173; no shrink 0.159; binary
    weights with shrink 5, 0.169).

    Parameters
    ----------
    k : int
        Neighbours kept per target item.
    shrink : float
        Added to the cosine denominator; damps similarities resting on few co-listeners.
    weighting : str
        Play-count transform, see :data:`ml.peers.WEIGHTINGS`.
    """

    model_type = "itemknn"

    def __init__(self, k: int = 500, shrink: float = 200.0, weighting: str = "log1p") -> None:
        self.k = k
        self.shrink = shrink
        self.weighting = weighting

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        return cls(**{"k": 20, **params})

    def _fit(self, data: Interactions) -> None:
        if self.k < 1:
            raise ValueError(f"itemknn: k must be at least 1, got {self.k}")
        if self.shrink < 0:
            raise ValueError(f"itemknn: shrink must be non-negative, got {self.shrink}")
        self.weighting_ = Weighting(check_weighting(self.weighting)).fit(self.train_matrix_)
        x = self.weighting_.transform(self.train_matrix_)
        self.similarity_ = _cosine_top_k(x, self.k, self.shrink)

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        weighted = self.weighting_.transform(history)
        return np.asarray((weighted @ self.similarity_).toarray(), dtype=np.float32)

    def scores_for_columns(self, history: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """Only the similarity rows of the history items and the candidate columns."""
        self._require_fitted()
        weighted = sp.csr_matrix(self.weighting_.transform(history), dtype=np.float32)
        items, compact = np.unique(weighted.indices, return_inverse=True)
        narrow = sp.csr_matrix(
            (weighted.data, compact.ravel(), weighted.indptr), shape=(history.shape[0], len(items))
        )
        block = self.similarity_[items][:, np.asarray(columns, np.int64)]
        return np.asarray((narrow @ block).toarray(), dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        s = self.similarity_
        return {
            "sim_data": s.data,
            "sim_indices": s.indices,
            "sim_indptr": s.indptr,
            **{f"weighting_{k}": v for k, v in self.weighting_.state().items()},
        }

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        n = len(self.item_ids_)
        self.similarity_ = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n)
        )
        self.weighting_ = Weighting(self.weighting)
        self.weighting_.set_state(
            {"idf": arrays["weighting_idf"], "avg_length": arrays["weighting_avg_length"]}
        )


def _cosine_top_k(x: sp.csr_matrix, k: int, shrink: float) -> sp.csr_matrix:
    """``(history item) x (target item)`` cosines, each target column pruned to its top ``k``."""
    xc = sp.csc_matrix(x, dtype=np.float64)
    norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=0)).ravel())
    gram = sp.csr_matrix(xc.T @ xc)
    rows = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
    gram.data[rows == gram.indices] = 0.0  # an item is not its own neighbour
    gram.eliminate_zeros()
    rows = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
    gram.data = gram.data / (norms[rows] * norms[gram.indices] + shrink + 1e-12)
    # The Gram matrix is symmetric, so pruning row j keeps target j's neighbours; transpose after.
    keep = np.ones(gram.nnz, dtype=bool)
    for j in np.flatnonzero(np.diff(gram.indptr) > k):
        start, end = gram.indptr[j], gram.indptr[j + 1]
        order = np.argpartition(-gram.data[start:end], k - 1)[k:]
        keep[start + order] = False
    rows, cols = rows[keep], gram.indices[keep]
    return sp.csr_matrix(
        (gram.data[keep].astype(np.float32), (cols, rows)), shape=gram.shape, dtype=np.float32
    )
