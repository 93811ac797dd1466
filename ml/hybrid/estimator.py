"""The hybrid orchestrator: a context-weighted blend of the project's models and the peers.

``HybridRecommender`` fits its members (by default NCF, EASE, ALS, item-kNN and the content
model) on the training data and ranks items by a weighted sum of the members' per-user
normalised scores (:mod:`ml.hybrid.blend`). The weights depend on the request's context bucket
(history length ``<= 3``, ``4-10``, ``11-30``, ``> 30``; a ``cold_start`` request uses the
shortest) and are learned at fit time, never on evaluation data:

1. the training rows are split per user (seeded) into an inner training part and a validation
   part; every member is fitted on the inner part;
2. validation users are scored from their inner history (the long-history buckets) and, for a
   seeded sample of them, from a random truncation of it to 1-30 items (the short buckets; the
   rest of their items are the targets);
3. coordinate ascent finds the weights maximising validation NDCG@10, first over all users
   (starting from equal weights), then per bucket from there (buckets with too few validation
   users keep the global weights); each result is shrunk toward its starting point by an amount
   chosen by two-fold cross-validation on the validation users
   (:func:`~ml.hybrid.blend.search_shrunk_weights`), which damps weights fitted to noise;
4. a logistic calibrator maps (blended score, margin to the best, rank, member agreement,
   history length) to P(hit) on the same validation items, and an isotonic step over
   equal-count bins makes it monotone (:mod:`ml.hybrid.calibration`);
5. the members are refitted on all training rows (NCF with the epoch count its inner run chose,
   so it trains once more instead of twice).

Per-item parts, confidence, explanations and the popular fallback are served by
:meth:`HybridRecommender.recommend_with_details` (:mod:`ml.hybrid.details`); the online weight
updates live in :mod:`ml.hybrid.bandit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, ModelLoadError
from ml.data.interactions import Interactions, split_items_per_user
from ml.hybrid import calibration
from ml.hybrid.blend import (
    DEFAULT_BUCKETS,
    CandidateSet,
    bucket_names,
    bucket_of,
    normalise,
    search_shrunk_weights,
    seen_in_columns,
)

DEFAULT_MEMBERS = ("ncf", "ease", "als", "itemknn", "content")
#: parameters every member of that name gets unless ``member_params`` overrides them
DEFAULT_MEMBER_PARAMS: dict[str, dict[str, Any]] = {"content": {"classifiers": False}}
MEMBERS_DIR = "members"
CANDIDATE_WIDTH = 200
VALIDATION_BATCH = 256


class HybridRecommender(BaseRecommender):
    """Context-weighted blend of recommenders; see the module docstring.

    Parameters
    ----------
    members : list of str, optional
        Model names from :data:`ml.models.MODELS` (default :data:`DEFAULT_MEMBERS`).
    member_params : dict, optional
        ``{member name: constructor parameters}`` overriding :data:`DEFAULT_MEMBER_PARAMS`.
    tiny_members : bool
        Build every member from its ``tiny()`` configuration (tests).
    buckets : list of int, optional
        Inclusive upper edges of the history-length buckets (default ``[3, 10, 30]``).
    candidates : int
        Depth of each member's top list used for its per-user normalisation.
    validation_fraction : float
        Share of each training user's items held out to learn the weights and the calibrator.
    short_users : int
        Validation users also scored from a truncated (1-30 item) history.
    min_bucket_users : int
        A bucket with fewer validation users keeps the global weights.
    search_rounds : int
        Coordinate-ascent sweeps of the weight search.
    fallback_threshold : float
        Below this top confidence, details fall back to popular items (and say so).
    seed : int
        Seed of the internal split and the truncations.
    """

    model_type = "hybrid"

    def __init__(
        self,
        *,
        members: list[str] | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
        tiny_members: bool = False,
        buckets: list[int] | None = None,
        candidates: int = 100,
        validation_fraction: float = 0.2,
        short_users: int = 300,
        min_bucket_users: int = 50,
        search_rounds: int = 3,
        fallback_threshold: float = 0.02,
        seed: int = 7,
    ) -> None:
        self.members = members
        self.member_params = member_params
        self.tiny_members = tiny_members
        self.buckets = buckets
        self.candidates = candidates
        self.validation_fraction = validation_fraction
        self.short_users = short_users
        self.min_bucket_users = min_bucket_users
        self.search_rounds = search_rounds
        self.fallback_threshold = fallback_threshold
        self.seed = seed
        #: Called with (name, member) before each member is fitted, e.g. to hand the content
        #: member the database's catalogue; not a hyperparameter.
        self.prepare_member: Callable[[str, BaseRecommender], None] | None = None
        #: Called with a short text at each fitting step (progress bars).
        self.on_step: Callable[[str], None] | None = None

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        defaults: dict[str, Any] = {"tiny_members": True, "short_users": 20, "min_bucket_users": 5}
        return cls(**{**defaults, **params})

    # ---- configuration -----------------------------------------------------------------------
    @property
    def member_names(self) -> list[str]:
        names = list(self.members if self.members is not None else DEFAULT_MEMBERS)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"hybrid: members must be distinct model names, got {names}")
        if "hybrid" in names:
            raise ValueError("hybrid: a hybrid cannot be its own member")
        return names

    @property
    def edges(self) -> tuple[int, ...]:
        return tuple(self.buckets) if self.buckets is not None else DEFAULT_BUCKETS

    @property
    def bucket_labels(self) -> list[str]:
        return bucket_names(self.edges)

    def _build_member(self, name: str, **extra: Any) -> BaseRecommender:
        from ml.models import build

        params = {
            **DEFAULT_MEMBER_PARAMS.get(name, {}),
            **(self.member_params or {}).get(name, {}),
            **extra,
        }
        member = build(name, tiny=self.tiny_members, **params)
        if self.prepare_member is not None:
            self.prepare_member(name, member)
        return member

    def _step(self, text: str) -> None:
        if self.on_step is not None:
            self.on_step(text)

    # ---- fitting -----------------------------------------------------------------------------
    def _fit(self, data: Interactions) -> None:
        names = self.member_names
        train = data.with_matrix(self.train_matrix_)
        n_buckets = len(self.edges) + 1
        self.bucket_weights_ = np.full((n_buckets, len(names)), 1.0 / len(names), np.float32)
        self.calibration_ = np.zeros(calibration.N_FEATURES)
        self.isotonic_ = np.zeros((2, 0))
        self.validation_ndcg_ = np.zeros(n_buckets + 1)
        self.shrinkage_ = np.ones(n_buckets + 1)
        inner: dict[str, BaseRecommender] = {}
        if self.validation_fraction > 0:
            inner_train, inner_valid = split_items_per_user(
                train, test_fraction=self.validation_fraction, seed=self.seed
            )
            if inner_valid.matrix.nnz > 0:
                inner = {}
                for n in names:
                    self._step(f"validation fit: {n}")
                    inner[n] = self._build_member(n, **_inner_params(n)).fit(inner_train)
                self._step("learning the blend weights and the calibration")
                valid = self._validation_set(inner, inner_train.matrix, inner_valid.matrix)
                self._learn_weights(valid)
                self._learn_calibration(valid)
        self.members_: dict[str, BaseRecommender] = {}
        self.member_fit_seconds_: dict[str, float] = {}
        for n in names:
            self._step(f"final fit: {n}")
            start = time.perf_counter()
            self.members_[n] = self._build_member(n, **_final_params(n, inner.get(n))).fit(train)
            self.member_fit_seconds_[n] = time.perf_counter() - start
        m = self.train_matrix_
        self.item_popularity_ = np.bincount(m.indices[m.data > 0], minlength=m.shape[1]).astype(
            np.float32
        )
        self._binary_csc: sp.csc_matrix | None = None

    def _validation_set(
        self, inner: Mapping[str, BaseRecommender], given: sp.csr_matrix, held: sp.csr_matrix
    ) -> CandidateSet:
        """Candidate sets of the validation users: full inner histories plus truncations."""
        users = np.flatnonzero(np.diff(held.indptr) > 0)
        parts = [
            self._candidates(inner, given[batch], held[batch])
            for batch in np.array_split(users, max(1, len(users) // VALIDATION_BATCH))
            if len(batch)
        ]
        short_given, short_held = self._truncations(given, held, users)
        if short_given.shape[0]:
            parts.append(self._candidates(inner, short_given, short_held))
        return CandidateSet.concat(parts)

    def _truncations(
        self, given: sp.csr_matrix, held: sp.csr_matrix, users: np.ndarray
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Short histories (1 to the last edge items) cut from sampled users' inner histories."""
        rng = np.random.default_rng(self.seed)
        lengths = np.diff(given.indptr)
        eligible = users[lengths[users] >= 2]
        picked = np.sort(rng.choice(eligible, min(self.short_users, len(eligible)), replace=False))
        lows = (0, *self.edges[:-1])
        g_rows, h_rows = [], []
        for user in picked.tolist():
            row = given[user]
            bucket = int(rng.integers(len(self.edges)))
            top = min(self.edges[bucket], row.nnz - 1)
            size = int(rng.integers(min(lows[bucket] + 1, top), top + 1))
            keep = np.zeros(row.nnz, dtype=bool)
            keep[rng.choice(row.nnz, size, replace=False)] = True
            g_rows.append(sp.csr_matrix((row.data[keep], row.indices[keep], [0, size]), row.shape))
            rest = row.indices[~keep]
            target = sp.csr_matrix(
                (np.ones(len(rest), np.float32), rest, [0, len(rest)]), row.shape
            )
            h_rows.append(sp.csr_matrix(target + (held[user] > 0), dtype=np.float32))
        if not g_rows:
            empty = sp.csr_matrix((0, given.shape[1]), dtype=np.float32)
            return empty, empty
        return sp.csr_matrix(sp.vstack(g_rows)), sp.csr_matrix(sp.vstack(h_rows))

    def _candidates(
        self, members: Mapping[str, BaseRecommender], given: sp.csr_matrix, held: sp.csr_matrix
    ) -> CandidateSet:
        z = self._normalised(members, sp.csr_matrix(given, dtype=np.float32))
        return CandidateSet.build(z, given, held, CANDIDATE_WIDTH)

    def _normalised(
        self, members: Mapping[str, BaseRecommender], history: sp.csr_matrix
    ) -> np.ndarray:
        """``members x rows x items`` normalised member scores for history rows."""
        return np.stack(
            [
                normalise(members[n]._scores_from_history(history), history, self.candidates)
                for n in self.member_names
            ]
        )

    def _learn_weights(self, valid: CandidateSet) -> None:
        names = self.member_names
        equal = np.full(len(names), 1.0 / len(names), np.float32)
        rng = np.random.default_rng(self.seed)
        shrink = np.ones(len(self.bucket_weights_) + 1)
        global_w, self.validation_ndcg_[-1], shrink[-1] = search_shrunk_weights(
            valid, equal, rng, rounds=self.search_rounds
        )
        self.bucket_weights_[:] = global_w
        buckets = bucket_of(valid.lengths, self.edges)
        for k in range(len(self.bucket_weights_)):
            rows = np.flatnonzero(buckets == k)
            if len(rows) >= self.min_bucket_users:
                self.bucket_weights_[k], self.validation_ndcg_[k], shrink[k] = (
                    search_shrunk_weights(
                        valid.subset(rows), global_w, rng, rounds=self.search_rounds
                    )
                )
        self.shrinkage_ = shrink

    def _learn_calibration(self, valid: CandidateSet) -> None:
        weights = self.bucket_weights_[bucket_of(valid.lengths, self.edges)]
        blended = valid.blend(weights)
        top = min(calibration.CALIBRATION_TOP, blended.shape[1])
        order = np.argsort(-blended, axis=1)[:, :top]
        score = np.take_along_axis(blended, order, 1)
        z = np.take_along_axis(valid.z, np.broadcast_to(order, (valid.z.shape[0], *order.shape)), 2)
        agreement = (z >= valid.top_z[:, :, None]).mean(axis=0)
        x = calibration.features(
            score,
            np.repeat(score[:, :1], top, axis=1),
            np.broadcast_to(np.arange(top), score.shape),
            agreement,
            np.repeat(valid.lengths[:, None], top, axis=1),
        )
        y = np.take_along_axis(valid.hits, order, 1).ravel().astype(np.float64)
        self.calibration_ = calibration.fit_logistic(x, y)
        self.isotonic_ = calibration.fit_isotonic(calibration.predict(self.calibration_, x), y)

    # ---- scoring -----------------------------------------------------------------------------
    def row_weights(
        self,
        lengths: np.ndarray,
        context: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Blend weights per row (rows x members): ``weights`` overrides, else the bucket's."""
        self._require_fitted()
        if weights is not None:
            w = np.array([float(weights.get(n, 0.0)) for n in self.member_names], np.float32)
            if w.sum() <= 0 or (w < 0).any():
                raise ValueError("hybrid: override weights must be non-negative, not all zero")
            return np.tile(w / w.sum(), (len(lengths), 1))
        buckets = bucket_of(lengths, self.edges)
        if context is not None and context.get("cold_start"):
            buckets = np.zeros_like(buckets)
        out: np.ndarray = self.bucket_weights_[buckets]
        return out

    def member_scores(self, history: sp.csr_matrix) -> np.ndarray:
        """Normalised member scores (members x rows x items) of the fitted members."""
        self._require_fitted()
        return self._normalised(self.members_, sp.csr_matrix(history, dtype=np.float32))

    def member_scores_for_columns(self, history: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """:meth:`member_scores` over the item columns ``columns`` only (members x rows x cols).

        Each member is normalised over its top items *among these columns*: the serving path
        ranks a few hundred retrieved candidates, never the whole catalogue.
        """
        self._require_fitted()
        history = sp.csr_matrix(history, dtype=np.float32)
        columns = np.asarray(columns, np.int64)
        seen = seen_in_columns(history, columns)
        return np.stack(
            [
                normalise(
                    self.members_[n].scores_for_columns(history, columns),
                    history,
                    self.candidates,
                    seen=seen,
                )
                for n in self.member_names
            ]
        )

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        z = self.member_scores(history)
        w = self.row_weights(np.diff(history.indptr))
        out: np.ndarray = np.einsum("um,mui->ui", w, z).astype(np.float32)
        return out

    def weights_by_bucket(self) -> dict[str, dict[str, float]]:
        """The learned weights, ``{bucket label: {member: weight}}``."""
        self._require_fitted()
        return {
            label: dict(zip(self.member_names, row.tolist(), strict=True))
            for label, row in zip(self.bucket_labels, self.bucket_weights_, strict=True)
        }

    def recommend_with_details(
        self,
        users: Sequence[Any] | np.ndarray | sp.csr_matrix,
        n: int = 10,
        context: Mapping[str, Any] | None = None,
        weights: Mapping[str, float] | None = None,
        columns: np.ndarray | None = None,
    ) -> list[list[dict[str, Any]]]:
        """Per user, ``n`` dicts ``{item, score, parts, confidence, because, top_member,
        fallback}``; see :func:`ml.hybrid.details.recommend_with_details`."""
        from ml.hybrid.details import recommend_with_details

        return recommend_with_details(
            self, users, n=n, context=context, weights=weights, columns=columns
        )

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "bucket_weights_"):
            return {}
        return {
            "bucket_weights": self.bucket_weights_,
            "calibration": self.calibration_,
            "isotonic": self.isotonic_,
            "validation_ndcg": self.validation_ndcg_,
            "shrinkage": self.shrinkage_,
            "item_popularity": self.item_popularity_,
        }

    def _save_extra(self, folder: Path) -> None:
        for name, member in self.members_.items():
            member.save(folder / MEMBERS_DIR / name)

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        from ml.models import model_class

        try:
            self.bucket_weights_ = arrays["bucket_weights"].astype(np.float32)
            self.calibration_ = arrays["calibration"].astype(np.float64)
            self.isotonic_ = arrays["isotonic"].astype(np.float64)
            self.validation_ndcg_ = arrays["validation_ndcg"]
            self.shrinkage_ = arrays["shrinkage"]
            self.item_popularity_ = arrays["item_popularity"].astype(np.float32)
        except KeyError as exc:
            raise ModelLoadError(f"{folder}: hybrid state lacks {exc}") from None
        self.members_ = {
            n: model_class(n).load(folder / MEMBERS_DIR / n) for n in self.member_names
        }
        for name, member in self.members_.items():
            if len(member.item_ids_) != len(self.item_ids_) or np.any(
                member.item_ids_ != self.item_ids_
            ):
                raise ModelLoadError(f"{folder}: member {name!r} has another item space")
        self._binary_csc = None


def _inner_params(name: str) -> dict[str, Any]:
    """The inner (validation) fit: NCF keeps its early-stopping run and skips the refit."""
    return {"refit": False} if name == "ncf" else {}


def _final_params(name: str, inner: BaseRecommender | None) -> dict[str, Any]:
    """The final fit: NCF trains once, for the epoch count its inner run chose."""
    log = getattr(inner, "training_log_", None)
    if name != "ncf" or not log:
        return {}
    from ml.user_pref.estimator import refit_epochs

    tolerance = float(getattr(inner, "epoch_tolerance", 0.01))
    return {"epochs": refit_epochs(log, tolerance), "validation_fraction": 0.0}
