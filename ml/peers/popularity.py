"""Most-popular baseline: every user gets the items the most training users have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender
from ml.data.interactions import Interactions


class PopularityRecommender(BaseRecommender):
    """Scores an item by the number of training users who interacted with it.

    It has no hyperparameters and ignores the history except to exclude seen items, so a folded-in
    user gets exactly what a known user gets. It is the floor every personalised model must clear.
    """

    model_type = "popularity"

    def __init__(self) -> None:
        pass

    def _fit(self, data: Interactions) -> None:
        m = self.train_matrix_
        counts = np.bincount(m.indices[m.data > 0], minlength=m.shape[1])
        self.item_counts_ = counts.astype(np.float32)

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.item_counts_, (history.shape[0], 1))

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_counts": self.item_counts_}

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        self.item_counts_ = arrays["item_counts"].astype(np.float32)
