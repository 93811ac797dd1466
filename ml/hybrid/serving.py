"""Two-stage serving of the hybrid: retrieve candidates by dot product, re-rank them in full.

A request must not pay for scoring the whole catalogue with every member (NeuMF's MLP alone
costs far more per item than a dot product). :class:`HybridServer` therefore

1. **retrieves** a few hundred candidate columns: the listener's ALS fold-in vector against
   every servable item's factors in an exact faiss inner-product index, plus caller-supplied
   columns (content neighbours of the listener's recent tracks), plus the most popular
   servable items (so a thin history still has candidates);
2. **re-ranks** only those columns with every member through
   :meth:`~ml.hybrid.estimator.HybridRecommender.recommend_with_details` (parts, calibrated
   confidence, "because", popular fallback).

``servable`` restricts everything to the items the product can actually play (artists with
catalogue tracks); ``None`` serves the whole item index. Pure numpy + faiss, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ml.hybrid.details import Prepared, details_prepared, prepare_row
from ml.peers.als import ALSRecommender

if TYPE_CHECKING:
    from ml.hybrid.estimator import HybridRecommender

DEFAULT_RETRIEVE = 200
DEFAULT_POPULAR = 50


class HybridServer:
    """Candidate retrieval + full re-ranking for one loaded hybrid model.

    Parameters
    ----------
    model : HybridRecommender
        A fitted hybrid.
    servable : ndarray of int, optional
        Item columns that may be recommended (default: all).
    retrieve : int
        Candidates taken from the dot-product retrieval.
    popular : int
        Most popular servable items always added to the candidates.
    """

    def __init__(
        self,
        model: HybridRecommender,
        servable: np.ndarray | None = None,
        *,
        retrieve: int = DEFAULT_RETRIEVE,
        popular: int = DEFAULT_POPULAR,
    ) -> None:
        import faiss

        model._require_fitted()
        self.model = model
        self.retrieve = retrieve
        self.popular = popular
        cols = np.arange(model.n_items) if servable is None else np.unique(servable)
        self.servable = cols.astype(np.int64)
        self._servable_mask = np.zeros(model.n_items, dtype=bool)
        self._servable_mask[self.servable] = True
        pop = model.item_popularity_[self.servable]
        self._popular = self.servable[np.argsort(-pop, kind="stable")[:popular]]
        als = model.members_.get("als")
        self._als: ALSRecommender | None = als if isinstance(als, ALSRecommender) else None
        self._index: Any = None
        if self._als is not None and len(self.servable):
            factors = np.ascontiguousarray(self._als.item_factors_[self.servable], np.float32)
            self._index = faiss.IndexFlatIP(factors.shape[1])
            self._index.add(factors)

    def candidates(
        self,
        history: sp.csr_matrix,
        extra: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> np.ndarray:
        """Candidate columns of one history row: retrieved + ``extra`` + popular - ``exclude``.

        Items in the history stay in (the ranking masks them) so members normalise the same
        way; ``exclude`` (e.g. disliked or blocked artists) and non-servable items are removed.
        """
        parts = [self._popular]
        if self._index is not None and self._als is not None and history.nnz:
            vector = self._als.user_vectors(history[:1])
            k = min(self.retrieve, len(self.servable))
            _, found = self._index.search(np.ascontiguousarray(vector, np.float32), k)
            parts.append(self.servable[found[0][found[0] >= 0]])
        if extra is not None and len(extra):
            extra = np.asarray(extra, np.int64)
            parts.append(extra[self._servable_mask[extra]])
        cols = np.unique(np.concatenate(parts))
        if exclude is not None and len(exclude):
            cols = cols[~np.isin(cols, np.asarray(exclude, np.int64))]
        return cols

    def prepare(self, history: sp.csr_matrix, extra: np.ndarray | None = None) -> Prepared:
        """The per-history work of one listener (candidates, member scores, "because")."""
        history = sp.csr_matrix(history, dtype=np.float32)
        if history.shape != (1, self.model.n_items):
            raise ValueError(
                f"hybrid: expected one history row over {self.model.n_items} items, "
                f"got shape {history.shape}"
            )
        return prepare_row(self.model, history, self.candidates(history, extra))

    def recommend(
        self,
        history: sp.csr_matrix,
        n: int = 10,
        *,
        context: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
        extra: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
        prepared: Prepared | None = None,
    ) -> list[dict[str, Any]]:
        """The detailed top ``n`` for one history row over the item index (see the module).

        ``prepared`` (from :meth:`prepare` on the same history) skips the per-history work.
        """
        prep = prepared if prepared is not None else self.prepare(history, extra)
        return details_prepared(
            self.model, prep, n=n, context=context, weights=weights, exclude=exclude
        )
