"""Peer recommenders every project model is measured against, and their shared weighting.

Last.fm play counts are heavily skewed (median 261, 99th percentile 7,228, maximum 352,698), so
the peers never use raw counts as they are: each model picks one of :data:`WEIGHTINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: ``binary`` (1 per interaction), ``log1p`` (log(1 + count)), ``bm25`` (count saturated by the
#: user's total plays and scaled by the item's inverse document frequency over training users)
#: or ``none`` (raw counts).
WEIGHTINGS = ("binary", "log1p", "bm25", "none")


@dataclass
class Weighting:
    """A play-count transform; ``bm25`` keeps the training statistics so fold-in matches fit.

    Parameters
    ----------
    scheme : str
        One of :data:`WEIGHTINGS`.
    k1, b : float
        BM25 saturation and length normalisation (the values implicit's Last.fm example uses).
    """

    scheme: str = "log1p"
    k1: float = 100.0
    b: float = 0.8

    def __post_init__(self) -> None:
        check_weighting(self.scheme)
        self.idf_: np.ndarray = np.zeros(0, np.float32)
        self.avg_length_: float = 1.0

    def fit(self, matrix: sp.csr_matrix) -> Weighting:
        """Learn the BM25 statistics (item idf, mean user length) from training rows."""
        if self.scheme == "bm25":
            n_users = max(matrix.shape[0], 1)
            users_per_item = np.bincount(matrix.indices, minlength=matrix.shape[1])
            # Lucene's idf: positive even for an item every user has (Robertson's can be <= 0).
            idf = np.log1p((n_users - users_per_item + 0.5) / (users_per_item + 0.5))
            self.idf_ = idf.astype(np.float32)
            lengths = np.asarray(matrix.sum(axis=1)).ravel()
            self.avg_length_ = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
        return self

    def transform(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Weighted copy of ``matrix`` (same sparsity pattern, float32)."""
        out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        out.data = np.maximum(out.data, 0.0)
        if self.scheme == "binary":
            out.data = np.ones_like(out.data)
        elif self.scheme == "log1p":
            out.data = np.log1p(out.data)
        elif self.scheme == "bm25":
            lengths = np.asarray(out.sum(axis=1)).ravel()
            norm = (1.0 - self.b) + self.b * lengths / self.avg_length_
            rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
            saturated = out.data * (self.k1 + 1.0) / (self.k1 * norm[rows] + out.data)
            out.data = (saturated * self.idf_[out.indices]).astype(np.float32)
        out.eliminate_zeros()
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"idf": self.idf_, "avg_length": np.array([self.avg_length_], np.float64)}

    def set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.idf_ = arrays["idf"].astype(np.float32)
        self.avg_length_ = float(arrays["avg_length"][0])


def check_weighting(scheme: str) -> str:
    if scheme not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {scheme!r}; choose from {', '.join(WEIGHTINGS)}")
    return scheme
