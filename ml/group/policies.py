"""Aggregation policies: one ranked list for a group from a members x items score matrix.

Members' raw scores live on different scales (an ALS dot product, an NCF logit), so every
policy except Borda first standardises each member's row over the catalogue (z-scores: mean 0,
unit variance over the items the member can be offered). Then, for item ``i`` and members ``j``:

* ``average``: the mean of the members' standardised scores (the utilitarian choice);
* ``least-misery``: the minimum (the item the least happy member likes best wins);
* ``most-pleasure``: the maximum;
* ``borda``: the sum of Borda points (``n_items - rank``), i.e. the mean rank, scale-free;
* ``average-without-misery``: the average, but items below the ``threshold`` quantile of any
  member's ranking (default: outside their top 20 %) come after all the others;
* ``fairness``: a greedy list that favours whoever is owed. Each member's satisfaction is the
  DCG-style gain ``1 / log2(1 + rank)`` (their own rank of the item, top ``depth`` only)
  summed over what already played in the room (``played``) and over the items already placed
  in this list; the next item maximises ``sum_j w_j z_ij`` with ``w_j`` proportional to
  ``1 / (1 + satisfaction_j)``. With nothing played it starts as ``average``.

Excluded items (already heard, outside ``candidates``) are never returned; they still count
when members' scores are standardised and ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POLICIES = (
    "average",
    "least-misery",
    "most-pleasure",
    "borda",
    "average-without-misery",
    "fairness",
)
#: The learned group model's own policy name (``GroupRecommender.recommend_group``).
LEARNED = "learned"
MISERY_THRESHOLD = 0.8
FAIRNESS_DEPTH = 100
_PUSHED_DOWN = 1e6


@dataclass(frozen=True)
class Ranking:
    """Item columns best first, the policy's score of each, and the members' satisfaction."""

    columns: np.ndarray
    scores: np.ndarray
    satisfaction: np.ndarray


def policy_name(name: str) -> str:
    """The canonical spelling (``least_misery`` and ``Least-Misery`` mean ``least-misery``)."""
    canonical = name.strip().lower().replace("_", "-")
    if canonical not in (*POLICIES, LEARNED):
        raise ValueError(f"unknown policy {name!r}; choose from {', '.join((*POLICIES, LEARNED))}")
    return canonical


def standardise(scores: np.ndarray) -> np.ndarray:
    """Each row to mean 0 and unit variance over its finite entries (``-inf`` stays ``-inf``)."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    filled = np.where(finite, scores, 0.0)
    mean = filled.sum(axis=1, keepdims=True) / count
    var = (np.where(finite, scores - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count
    out = (scores - mean) / np.sqrt(np.maximum(var, 1e-12))
    return np.where(finite, out, -np.inf)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every item in every member's row (ties by column; ``-inf`` last)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")
    out = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    out[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    return out


def gains(scores: np.ndarray, depth: int = FAIRNESS_DEPTH) -> np.ndarray:
    """Each member's DCG-style gain of each item: ``1/log2(1 + rank)`` in their top ``depth``."""
    r = ranks(scores)
    return np.where(r <= depth, 1.0 / np.log2(1.0 + r), 0.0)


def member_satisfaction(
    scores: np.ndarray, played: Sequence[int] | np.ndarray, depth: int = FAIRNESS_DEPTH
) -> np.ndarray:
    """Per member, the summed gain of the ``played`` item columns (the fairness ledger)."""
    cols = np.asarray(played, dtype=np.int64)
    if cols.size == 0:
        return np.zeros(np.asarray(scores).shape[0])
    return np.asarray(gains(scores, depth)[:, cols].sum(axis=1), dtype=np.float64)


def aggregate(
    scores: np.ndarray, policy: str, *, threshold: float = MISERY_THRESHOLD
) -> np.ndarray:
    """The group score of every item under a static policy (not ``fairness``)."""
    policy = policy_name(policy)
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    excluded = ~np.isfinite(scores).all(axis=0)
    if policy == "borda":
        points = scores.shape[1] - ranks(scores)
        out = points.mean(axis=0).astype(np.float64)
    else:
        z = np.where(np.isfinite(scores), standardise(scores), 0.0)
        if policy == "average":
            out = z.mean(axis=0)
        elif policy == "least-misery":
            out = z.min(axis=0)
        elif policy == "most-pleasure":
            out = z.max(axis=0)
        elif policy == "average-without-misery":
            if not 0.0 <= threshold < 1.0:
                raise ValueError(f"threshold must be in [0, 1), got {threshold}")
            quantile = 1.0 - (ranks(scores) - 1) / max(scores.shape[1] - 1, 1)
            miserable = (quantile < threshold).any(axis=0)
            out = z.mean(axis=0) - _PUSHED_DOWN * miserable
        else:
            raise ValueError(f"{policy!r} is not a static policy; use rank()")
    return np.where(excluded, -np.inf, out)


def rank(
    scores: np.ndarray,
    policy: str,
    n: int,
    *,
    excluded: np.ndarray | None = None,
    played: Sequence[int] | np.ndarray = (),
    satisfaction: Sequence[float] | np.ndarray | None = None,
    threshold: float = MISERY_THRESHOLD,
    depth: int = FAIRNESS_DEPTH,
) -> Ranking:
    """The group's top-``n`` under ``policy``, never returning ``excluded`` columns.

    ``scores`` are the members' raw scores over the whole catalogue (``-inf`` marks an item a
    member can never be offered); standardisation and the members' ranks use every item, so an
    excluded item that already played still counts in the fairness ledger. ``played`` (item
    columns that already played in the room) feeds that ledger; the caller usually excludes
    them too. ``satisfaction`` (one value per member, e.g. a room's own ledger of votes and
    skips) replaces the ledger computed from ``played``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    policy = policy_name(policy)
    blocked = ~np.isfinite(scores).all(axis=0)
    if excluded is not None:
        blocked |= np.asarray(excluded, dtype=bool)
    if satisfaction is None:
        before = member_satisfaction(scores, played, depth)
    else:
        before = np.asarray(satisfaction, dtype=np.float64).reshape(-1)
        if before.shape != (scores.shape[0],):
            raise ValueError(f"satisfaction needs one value per member ({scores.shape[0]})")
    if policy == "fairness":
        return _fair_ranking(scores, n, before, depth, blocked)
    group = np.where(blocked, -np.inf, aggregate(scores, policy, threshold=threshold))
    cols = top_columns(group, n)
    return Ranking(cols, group[cols], before)


def top_columns(group: np.ndarray, n: int) -> np.ndarray:
    """The columns of the ``n`` largest finite values, best first."""
    finite = np.flatnonzero(np.isfinite(group))
    k = min(n, len(finite))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = finite[np.argpartition(-group[finite], k - 1)[:k]]
    return part[np.argsort(-group[part], kind="stable")].astype(np.int64)


def _fair_ranking(
    scores: np.ndarray, n: int, satisfied: np.ndarray, depth: int, blocked: np.ndarray
) -> Ranking:
    z = np.where(np.isfinite(scores), standardise(scores), 0.0)
    gain = gains(scores, depth)
    ledger = satisfied.astype(np.float64).copy()
    available = ~blocked
    cols, values = [], []
    for _ in range(min(n, int(available.sum()))):
        weights = 1.0 / (1.0 + ledger)
        weights /= weights.sum()
        value = np.where(available, weights @ z, -np.inf)
        best = int(np.argmax(value))
        cols.append(best)
        values.append(float(value[best]))
        available[best] = False
        ledger += gain[:, best]
    return Ranking(np.asarray(cols, np.int64), np.asarray(values), satisfied)
