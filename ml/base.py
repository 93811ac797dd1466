"""The one recommender interface every model implements (STYLE rules 15-17).

A model is fitted on :class:`~ml.data.interactions.Interactions` (users x items, raw ids kept
beside the matrix) and answers in raw ids. Users the model has never seen are served by
*fold-in*: :meth:`BaseRecommender.recommend_from_history` scores a history row over the model's
item index without retraining.

Subclasses implement ``_fit``, ``_scores_from_history`` (dense scores for history rows) and,
when they keep more than hyperparameters and the training matrix, ``_state`` / ``_set_state``
for saving. Everything else (id mapping, masking seen items, candidates, top-n, batching,
save/load of config and id maps, input validation) lives here once.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from ml.data.interactions import Interactions

SCHEMA_VERSION = 1
ARRAYS_FILE = "arrays.npz"
PARAMS_FILE = "params.json"
BATCH = 512


class NotFittedError(RuntimeError):
    """The model was asked to recommend, score or save before ``fit``."""


class ModelFitError(ValueError):
    """Training data or training itself is unusable (empty data, NaN)."""


class ModelLoadError(ValueError):
    """An artifact folder holds the wrong model type or schema, or is incomplete."""


class UnknownUserError(KeyError):
    """A user id the model was not trained on; use ``recommend_from_history`` (fold-in)."""

    def __str__(self) -> str:
        return str(self.args[0])


class BaseRecommender(ABC):
    """Shared machinery; see the module docstring."""

    model_type: ClassVar[str] = "base"

    # ---- scikit-learn style parameters ----------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        """A small configuration for fast tests (subclasses shrink their sizes here)."""
        return cls(**params)

    # ---- fitting ---------------------------------------------------------------------------
    def fit(self, data: Interactions) -> Self:
        """Fit from scratch on ``data``; raises :class:`ModelFitError` on unusable data."""
        if data.matrix.nnz == 0:
            raise ModelFitError(f"{self.model_type}: no interactions to train on")
        if not np.isfinite(data.matrix.data).all():
            raise ModelFitError(f"{self.model_type}: interaction weights contain NaN or inf")
        self.user_ids_ = np.asarray(data.user_ids)
        self.item_ids_ = np.asarray(data.item_ids)
        self.user_index_ = {u: i for i, u in enumerate(self.user_ids_.tolist())}
        self.item_index_ = {t: i for i, t in enumerate(self.item_ids_.tolist())}
        self.train_matrix_ = data.matrix.tocsr().astype(np.float32)
        self._fit(data)
        self._check_finite()
        return self

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense ``len(rows) x n_items`` scores for users given by their history rows."""

    def scores_for_columns(self, history: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """Dense ``rows x len(columns)`` scores of the given item columns only (serving).

        The same values as ``_scores_from_history(history)[:, columns]``; members of the
        serving path override it so a request pays for a few hundred candidates, not for the
        whole catalogue.
        """
        self._require_fitted()
        history = _check_history(history, self.n_items)
        out: np.ndarray = self._scores_from_history(history)[:, np.asarray(columns, np.int64)]
        return out

    def _scores_for_users(self, rows: np.ndarray) -> np.ndarray:
        """Scores for known users (by row index); models with learned user state override."""
        return self._scores_from_history(self.train_matrix_[rows])

    def _check_finite(self) -> None:
        for name, array in self._state().items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ModelFitError(f"{self.model_type}: training produced NaN in {name}")

    # ---- state for saving ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        return None

    def _save_extra(self, folder: Path) -> None:
        return None

    # ---- inference -------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "train_matrix_")

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{self.model_type} is not fitted: call fit() or load() first")

    @property
    def n_items(self) -> int:
        self._require_fitted()
        return len(self.item_ids_)

    def user_rows(self, user_ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        self._require_fitted()
        rows = np.empty(len(user_ids), dtype=np.int64)
        for k, user in enumerate(np.asarray(user_ids).tolist()):
            row = self.user_index_.get(user)
            if row is None:
                raise UnknownUserError(f"{self.model_type}: unknown user {user!r}")
            rows[k] = row
        return rows

    def item_columns(self, item_ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        self._require_fitted()
        cols = np.empty(len(item_ids), dtype=np.int64)
        for k, item in enumerate(np.asarray(item_ids).tolist()):
            col = self.item_index_.get(item)
            if col is None:
                raise KeyError(f"{self.model_type}: unknown item {item!r}")
            cols[k] = col
        return cols

    def history_matrix(self, histories: Sequence[dict[Any, float]]) -> sp.csr_matrix:
        """Rows over the item index from ``{item_id: weight}`` dicts; unknown items are dropped."""
        self._require_fitted()
        indptr, indices, data = [0], [], []
        for history in histories:
            for item, weight in history.items():
                col = self.item_index_.get(item)
                if col is not None:
                    indices.append(col)
                    data.append(float(weight))
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, np.float32), np.asarray(indices, np.int64), indptr),
            shape=(len(histories), self.n_items),
        )

    def recommend(
        self,
        user_ids: Sequence[Any] | np.ndarray,
        n: int = 10,
        exclude_seen: bool = True,
        candidates: Sequence[Any] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` raw item ids and scores for each known user, shape ``(len(user_ids), n)``."""
        rows = self.user_rows(user_ids)
        seen = self.train_matrix_[rows] if exclude_seen else None
        return self._top_n(
            lambda r: self._scores_for_users(rows[r]), len(rows), n, seen, candidates
        )

    def recommend_from_history(
        self,
        history: sp.csr_matrix,
        n: int = 10,
        exclude_seen: bool = True,
        candidates: Sequence[Any] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold-in: recommend for users given only by history rows over the item index."""
        self._require_fitted()
        history = _check_history(history, self.n_items)
        seen = history if exclude_seen else None
        return self._top_n(
            lambda r: self._scores_from_history(history[r]), history.shape[0], n, seen, candidates
        )

    def score(
        self, user_ids: Sequence[Any] | np.ndarray, item_ids: Sequence[Any] | np.ndarray
    ) -> np.ndarray:
        """Scores of every given item for every given user, shape ``(users, items)``."""
        rows = self.user_rows(user_ids)
        cols = self.item_columns(item_ids)
        return (
            np.vstack(
                [
                    self._scores_for_users(rows[s : s + BATCH])[:, cols]
                    for s in range(0, len(rows), BATCH)
                ]
            )
            if len(rows)
            else np.zeros((0, len(cols)), np.float32)
        )

    def _top_n(
        self,
        scorer: Any,
        n_users: int,
        n: int,
        seen: sp.csr_matrix | None,
        candidates: Sequence[Any] | np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        allowed = None
        if candidates is not None:
            allowed = np.zeros(self.n_items, dtype=bool)
            allowed[self.item_columns(candidates)] = True
        ids = np.empty((n_users, n), dtype=self.item_ids_.dtype)
        out = np.full((n_users, n), -np.inf, dtype=np.float32)
        for start in range(0, n_users, BATCH):
            block = np.arange(start, min(start + BATCH, n_users))
            scores = np.array(scorer(block), dtype=np.float32, copy=True)
            if seen is not None:
                sub = seen[block]
                scores[np.repeat(np.arange(len(block)), np.diff(sub.indptr)), sub.indices] = -np.inf
            if allowed is not None:
                scores[:, ~allowed] = -np.inf
            k = min(n, scores.shape[1])
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
            top = np.take_along_axis(top, order, 1)
            ids[block, :k] = self.item_ids_[top]
            out[block, :k] = np.take_along_axis(scores, top, 1)
        return ids, out

    # ---- persistence (no pickle) -----------------------------------------------------------
    def save(self, folder: Path | str) -> Path:
        """Write params, id maps, training matrix and learned arrays into ``folder``."""
        self._require_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "model_type": self.model_type,
            "schema_version": SCHEMA_VERSION,
            "params": self.get_params(),
        }
        (folder / PARAMS_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        m = self.train_matrix_
        arrays = {
            "user_ids": self.user_ids_,
            "item_ids": self.item_ids_,
            "train_data": m.data,
            "train_indices": m.indices,
            "train_indptr": m.indptr,
            **{f"state__{k}": v for k, v in self._state().items()},
        }
        np.savez(folder / ARRAYS_FILE, **arrays)
        self._save_extra(folder)
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> Self:
        """Load what :meth:`save` wrote; a wrong model type or schema raises ModelLoadError."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / PARAMS_FILE).read_text())
        except FileNotFoundError:
            raise ModelLoadError(f"{folder}: no {PARAMS_FILE}, not a saved model") from None
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{folder}/{PARAMS_FILE}: not valid JSON ({exc})") from None
        if meta.get("model_type") != cls.model_type:
            raise ModelLoadError(
                f"{folder}: holds a {meta.get('model_type')!r} model, expected {cls.model_type!r}"
            )
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ModelLoadError(
                f"{folder}: schema version {meta.get('schema_version')}, expected {SCHEMA_VERSION}"
            )
        try:
            with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{folder}/{ARRAYS_FILE}: unreadable ({exc})") from None
        model = cls(**meta["params"])
        model.user_ids_ = arrays["user_ids"]
        model.item_ids_ = arrays["item_ids"]
        model.user_index_ = {u: i for i, u in enumerate(model.user_ids_.tolist())}
        model.item_index_ = {t: i for i, t in enumerate(model.item_ids_.tolist())}
        model.train_matrix_ = sp.csr_matrix(
            (arrays["train_data"], arrays["train_indices"], arrays["train_indptr"]),
            shape=(len(model.user_ids_), len(model.item_ids_)),
        )
        state = {k.removeprefix("state__"): v for k, v in arrays.items() if k.startswith("state__")}
        model._set_state(state, folder)
        return model


def _check_history(history: sp.spmatrix, n_items: int) -> sp.csr_matrix:
    if not sp.issparse(history):
        raise TypeError("history must be a scipy sparse matrix over the model's item index")
    history = sp.csr_matrix(history, dtype=np.float32)
    if history.shape[1] != n_items:
        raise ValueError(f"history has {history.shape[1]} item columns, the model has {n_items}")
    if history.nnz and not np.isfinite(history.data).all():
        raise ValueError("history weights contain NaN or inf")
    return history
