"""Offline evaluation: full-ranking top-K metrics and the protocols of DESIGN.md.

Every metric ranks the whole item catalogue (no sampled negatives, Krichene & Rendle 2020) with
the user's history excluded. Relevance is binary: an item is relevant when it is in the user's
held-out test set.

Definitions, for a user with test set ``T``, top-K list ``r_1..r_K`` and ``m = min(|T|, K)``:

* ``ndcg``: ``sum_{r_i in T} 1/log2(i + 1)`` over the ideal DCG of ``m`` hits;
* ``map``: ``(1/m) sum_{r_i in T} precision@i``;
* ``recall``: hits ``/ m``; ``precision``: hits ``/ K``; ``hr``: 1 when there is any hit;
* ``coverage``: the share of catalogue items that appear in at least one top-K list;
* ``pop_bias``: the mean popularity of recommended items, popularity being the share of
  training users who have the item;
* ``gini``: the Gini coefficient of how often each catalogue item is recommended (0: every item
  equally often, 1: one item takes every slot).

Users with no test items are skipped; each metric is the mean over the remaining users.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, NotFittedError
from ml.data.interactions import Interactions, seed_split, split_items_per_user

#: The share of each user's items held out for scoring in both protocols.
TEST_FRACTION = 0.2
METRICS = ("ndcg", "map", "recall", "hr", "precision", "coverage", "pop_bias", "gini")


@dataclass(frozen=True)
class ModelResult:
    """One model's outcome under one protocol (JSON-ready through :meth:`to_dict`).

    ``metrics`` holds :data:`METRICS` at cut-off ``k``; ``users`` is the number of users scored;
    ``recommend_seconds_per_user`` is the wall time of the batch top-K call divided by ``users``.
    """

    model: str
    protocol: str
    k: int
    users: int
    metrics: dict[str, float]
    train_seconds: float
    recommend_seconds_per_user: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Measured:
    metrics: dict[str, float]
    users: int
    recommend_seconds: float


def ranking_metrics_at_k(
    model: BaseRecommender,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    *,
    history: sp.csr_matrix | None = None,
) -> dict[str, float]:
    """Top-``k`` metrics of a fitted model over the full catalogue (see the module docstring).

    Parameters
    ----------
    model : BaseRecommender
        A fitted model.
    train : Interactions
        The data the model was fitted on; it defines item popularity. For known users the
        excluded items are the model's own training rows, i.e. these.
    test : Interactions
        Held-out items per user; re-indexed onto the model's items when its item space differs
        (unknown items dropped). Without ``history`` its users must be known to the model.
    k : int
        The cut-off.
    history : scipy.sparse.csr_matrix, optional
        Fold-in: one row per ``test`` user over the model's item index. The model scores these
        rows through ``recommend_from_history`` and they are the excluded items.

    Returns
    -------
    dict of str to float
        The values of :data:`METRICS`.
    """
    return _measure(model, train, test, k, history).metrics


def evaluate_weak(
    models: Mapping[str, BaseRecommender], data: Interactions, k: int = 10, seed: int = 7
) -> dict[str, ModelResult]:
    """``weak``: each user's items split 80/20 (seeded); fit on the 80 %, score the 20 %."""
    train, test = split_items_per_user(data, test_fraction=TEST_FRACTION, seed=seed)
    return {
        name: _fit_and_measure(name, "weak", model, train, test, k, None)
        for name, model in models.items()
    }


def evaluate_fold_in(
    models: Mapping[str, BaseRecommender],
    train_data: Interactions,
    test_data: Interactions,
    k: int = 10,
    seed: int = 7,
) -> dict[str, ModelResult]:
    """``fold-in``: fit on ``train_data``'s users; serve ``test_data``'s users from history only.

    Test users are re-indexed onto the training items (unknown items dropped); each one's items
    are split 80/20 (seeded): the 80 % is given at inference time, the 20 % is scored.
    """
    aligned = test_data.aligned_to(train_data.item_ids)
    given, held_out = split_items_per_user(aligned, test_fraction=TEST_FRACTION, seed=seed)
    return {
        name: _fit_and_measure(name, "fold-in", model, train_data, held_out, k, given.matrix)
        for name, model in models.items()
    }


def evaluate_cold_start(
    models: Mapping[str, BaseRecommender],
    train_data: Interactions,
    test_data: Interactions,
    k: int = 10,
    seed: int = 7,
    seeds: int = 3,
) -> dict[str, ModelResult]:
    """``cold-start``: fit on ``train_data``'s users; each test user gives only ``seeds`` items.

    As on a sign-up page, each test user's seeds are ``seeds`` of their items picked at random
    (seeded), given as picks (weight 1); every other item of theirs is scored. Users with no
    more than ``seeds`` items are left out.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    aligned = test_data.aligned_to(train_data.item_ids)
    given, held, rows = seed_split(aligned.matrix, seeds=seeds, rng=np.random.default_rng(seed))
    held_out = aligned.subset_users(rows).with_matrix(held)
    return {
        name: _fit_and_measure(name, "cold-start", model, train_data, held_out, k, given)
        for name, model in models.items()
    }


def _fit_and_measure(
    name: str,
    protocol: str,
    model: BaseRecommender,
    train: Interactions,
    test: Interactions,
    k: int,
    history: sp.csr_matrix | None,
) -> ModelResult:
    _check_k(k)
    start = time.perf_counter()
    model.fit(train)
    train_seconds = time.perf_counter() - start
    measured = _measure(model, train, test, k, history)
    return ModelResult(
        model=name,
        protocol=protocol,
        k=k,
        users=measured.users,
        metrics=measured.metrics,
        train_seconds=train_seconds,
        recommend_seconds_per_user=measured.recommend_seconds / max(measured.users, 1),
        params=model.get_params(),
    )


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _measure(
    model: BaseRecommender,
    train: Interactions,
    test: Interactions,
    k: int,
    history: sp.csr_matrix | None,
) -> _Measured:
    _check_k(k)
    if not model.is_fitted:
        raise NotFittedError(f"{model.model_type} is not fitted: fit it before evaluating")
    model_items = model.item_ids_
    test_matrix = _in_item_space(test, model_items)
    rows = np.flatnonzero(np.diff(test_matrix.indptr) > 0)
    start = time.perf_counter()
    if history is None:
        ids, scores = model.recommend(test.user_ids[rows], n=k, exclude_seen=True)
    else:
        if history.shape[0] != test.n_users:
            raise ValueError(f"history has {history.shape[0]} rows, test has {test.n_users} users")
        ids, scores = model.recommend_from_history(sp.csr_matrix(history)[rows], n=k)
    seconds = time.perf_counter() - start
    valid = np.isfinite(scores)
    cols = np.full(ids.shape, -1, dtype=np.int64)
    cols[valid] = model.item_columns(ids[valid])
    popularity = _popularity(_in_item_space(train, model_items), train.n_users)
    metrics = {
        **accuracy_at_k(cols, test_matrix[rows], k),
        **_diversity(cols, popularity),
    }
    return _Measured(metrics=metrics, users=len(rows), recommend_seconds=seconds)


def _in_item_space(data: Interactions, item_ids: np.ndarray) -> sp.csr_matrix:
    same = len(data.item_ids) == len(item_ids) and bool(np.all(data.item_ids == item_ids))
    matrix = data.matrix if same else data.aligned_to(item_ids).matrix
    out = sp.csr_matrix(matrix)
    out.eliminate_zeros()
    return out


def accuracy_at_k(cols: np.ndarray, test: sp.csr_matrix, k: int) -> dict[str, float]:
    """NDCG, MAP, recall, HR and precision for rows of recommended columns (-1: empty slot)."""
    n_users = cols.shape[0]
    if n_users == 0:
        return dict.fromkeys(("ndcg", "map", "recall", "hr", "precision"), 0.0)
    rows = np.repeat(np.arange(n_users), cols.shape[1])
    flat = cols.ravel()
    flat_hits = np.zeros(flat.shape, dtype=bool)
    ok = flat >= 0
    flat_hits[ok] = np.asarray(test[rows[ok], flat[ok]]).ravel() > 0
    hits = flat_hits.reshape(cols.shape)
    n_relevant = np.minimum(np.diff(test.indptr), k).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, cols.shape[1] + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[n_relevant.astype(np.int64) - 1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, cols.shape[1] + 1)
    n_hits = hits.sum(axis=1)
    return {
        "ndcg": float(np.mean(dcg / ideal)),
        "map": float(np.mean((precision_at * hits).sum(axis=1) / n_relevant)),
        "recall": float(np.mean(n_hits / n_relevant)),
        "hr": float(np.mean(n_hits > 0)),
        "precision": float(np.mean(n_hits / k)),
    }


def _popularity(train: sp.csr_matrix, n_users: int) -> np.ndarray:
    counts = np.bincount(train.indices[train.data > 0], minlength=train.shape[1])
    return counts / max(n_users, 1)


def _diversity(cols: np.ndarray, popularity: np.ndarray) -> dict[str, float]:
    recommended = cols[cols >= 0]
    counts = np.bincount(recommended, minlength=len(popularity))
    return {
        "coverage": float(np.count_nonzero(counts) / max(len(popularity), 1)),
        "pop_bias": float(popularity[recommended].mean()) if recommended.size else 0.0,
        "gini": gini(counts),
    }


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 when all equal or all zero)."""
    values = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(values), values.sum()
    if n == 0 or total == 0 or math.isclose(total, 0.0):
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * values).sum() / (n * total))
