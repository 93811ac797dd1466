"""Serving a group over a few thousand servable columns instead of the whole catalogue.

:meth:`GroupRecommender.recommend_group` scores every member's NCF preferences over every item
(about 2.5 ms per member on one core). What depends only on a member's history is computed once
per member and history by :func:`member_profile` and kept by the caller (the web process caches
it with the listener's state): the member's NCF statistics over the *whole* catalogue (mean,
standard deviation, log partition), its taste-text vector and its row in the model.
:func:`recommend_group_columns` then scores only the servable columns, with those exact
statistics, so the learned policy sees the same features as :meth:`recommend_group` would for
those items. The fixed policies standardise over the columns given (a documented
approximation: they rank within the servable catalogue).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ml.group import policies
from ml.group.modeling import GroupLayersNumpy
from ml.group.training import Preferences, candidate_columns
from ml.hybrid.blend import seen_in_columns

if TYPE_CHECKING:
    from ml.group.estimator import GroupRecommendation, GroupRecommender


@dataclass(frozen=True)
class MemberProfile:
    """What a group request needs about one member, computed once per history."""

    raw_id: Any  # the listener's raw id when the model knows it, else None
    row: int  # the listener's row in the model, -1 when unknown
    stats: np.ndarray  # (mean, std, log_norm) of the member's NCF logits over all items
    text: np.ndarray  # the member's taste-text vector
    gmf: np.ndarray  # the member's NCF user vectors (GMF and MLP sides)
    mlp: np.ndarray


def member_profile(model: GroupRecommender, history: sp.csr_matrix, raw_id: Any) -> MemberProfile:
    """The profile of one member from their history row (and raw id, if the model knows it)."""
    model._require_fitted()
    history = sp.csr_matrix(history, dtype=np.float32)
    gmf, mlp = model.ncf_.user_vectors(history)
    logits = model.ncf_.scores_for_vectors(gmf, mlp, np.arange(model.n_items))
    prefs = Preferences.from_logits(logits)
    stats = np.array([prefs.mean[0], prefs.std[0], prefs.log_norm[0]], dtype=np.float64)
    row = model.user_index_.get(raw_id, -1) if raw_id is not None else -1
    if row >= 0:
        text = np.asarray(model.user_text_[row], dtype=np.float32)
    else:
        text = model.encoder_.encode(model._texts(history)).numpy()[0].astype(np.float32)
    return MemberProfile(raw_id if row >= 0 else None, int(row), stats, text, gmf[0], mlp[0])


def member_logits(
    model: GroupRecommender, profiles: Sequence[MemberProfile], columns: np.ndarray
) -> np.ndarray:
    """Members x columns NCF logits from the profiles' kept user vectors."""
    gmf = np.stack([p.gmf for p in profiles])
    mlp = np.stack([p.mlp for p in profiles])
    return model.ncf_.scores_for_vectors(gmf, mlp, columns)


def recommend_group_columns(
    model: GroupRecommender,
    history: sp.csr_matrix,
    profiles: Sequence[MemberProfile],
    columns: np.ndarray,
    n: int = 10,
    *,
    policy: str = policies.LEARNED,
    played: np.ndarray | None = None,
    satisfaction: Sequence[float] | None = None,
    threshold: float = policies.MISERY_THRESHOLD,
    logits: np.ndarray | None = None,
) -> GroupRecommendation:
    """Top ``n`` of ``columns`` for members given by history rows and their profiles.

    ``played`` are item columns the room already played (never again; the fairness ledger);
    members' own history items are excluded too. ``logits`` (members x columns, from
    :func:`member_logits`) may be passed when the caller keeps them per member.
    """
    from ml.group.estimator import GroupRecommendation

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if history.shape[0] != len(profiles) or not len(profiles):
        raise ValueError("a group needs one profile per history row, and at least one member")
    policy = policies.policy_name(policy)
    columns = np.asarray(columns, np.int64)
    history = sp.csr_matrix(history, dtype=np.float32)
    if logits is None:
        logits = member_logits(model, profiles, columns)
    stats = np.stack([p.stats for p in profiles])
    prefs = Preferences(
        logits=logits,
        mean=stats[:, 0].astype(np.float32),
        std=np.maximum(stats[:, 1], 1e-6).astype(np.float32),
        log_norm=stats[:, 2].astype(np.float32),
    )
    excluded = np.zeros(len(columns), dtype=bool)
    excluded[seen_in_columns(history, columns)[1]] = True
    played_pos = _positions(columns, played)
    excluded[played_pos] = True
    rows = np.array([p.row for p in profiles], dtype=np.int64)
    if policy == policies.LEARNED:
        cols, scores, weights = _learned(model, prefs, profiles, rows, columns, excluded, n)
        ledger = (
            policies.member_satisfaction(logits, played_pos)
            if satisfaction is None
            else np.asarray(satisfaction, dtype=np.float64)
        )
    else:
        ranking = policies.rank(
            logits, policy, n, excluded=excluded, played=played_pos,
            satisfaction=satisfaction, threshold=threshold,
        )  # fmt: skip
        cols, scores, ledger = ranking.columns, np.asarray(ranking.scores), ranking.satisfaction
        weights = policies.standardise(logits)[:, cols]
    return GroupRecommendation(
        item_ids=model.item_ids_[columns[cols]],
        scores=np.asarray(scores, dtype=np.float32),
        policy=policy,
        member_ids=tuple(p.raw_id for p in profiles),
        member_weights=np.asarray(weights, dtype=np.float32),
        satisfaction=np.asarray(ledger),
    )


_LAYERS: weakref.WeakKeyDictionary[GroupRecommender, GroupLayersNumpy] = weakref.WeakKeyDictionary()
_SOCIAL: weakref.WeakKeyDictionary[GroupRecommender, OrderedDict[tuple[int, ...], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
SOCIAL_GROUPS = 256


def numpy_layers(model: GroupRecommender) -> GroupLayersNumpy:
    """The model's group layers in numpy, with every item's side precomputed (once per model)."""
    found = _LAYERS.get(model)
    if found is None:
        found = GroupLayersNumpy(model.layers_, model._item_features_dense())
        _LAYERS[model] = found
    return found


def social_counts(model: GroupRecommender, rows: np.ndarray) -> np.ndarray:
    """Per item, how many of the members' other friends play it (as ``Context.features``).

    Counted over the whole catalogue once per set of member rows (a room keeps its members for
    many requests); a request gathers its candidates.
    """
    key = tuple(sorted({int(r) for r in rows if r >= 0}))
    cache = _SOCIAL.setdefault(model, OrderedDict())
    found = cache.get(key)
    if found is None:
        context = model._context()
        members = set(key)
        friends = sorted({int(f) for r in key for f in context.neighbours[r]} - members)
        found = np.zeros(context.plays.shape[1], dtype=np.float32)
        if friends:
            found = np.asarray(context.plays[friends].sum(axis=0), dtype=np.float32).ravel()
        cache[key] = found
        while len(cache) > SOCIAL_GROUPS:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return found


def _positions(columns: np.ndarray, items: np.ndarray | None) -> np.ndarray:
    if items is None or not len(items):
        return np.zeros(0, dtype=np.int64)
    position = {int(c): k for k, c in enumerate(columns.tolist())}
    return np.array([position[int(i)] for i in items if int(i) in position], dtype=np.int64)


def _learned(
    model: GroupRecommender,
    prefs: Preferences,
    profiles: Sequence[MemberProfile],
    rows: np.ndarray,
    columns: np.ndarray,
    excluded: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The learned policy over the given columns: (positions, scores, attention weights)."""
    member_rows = np.arange(len(profiles))
    cands = candidate_columns(prefs.logits, excluded, model.candidates)
    z = (prefs.logits - prefs.mean[:, None]) / prefs.std[:, None]
    scores = np.where(excluded, -np.inf, z.mean(axis=0).astype(np.float64))
    weights = np.zeros((len(profiles), len(columns)), dtype=np.float32)
    if len(cands):
        text = np.stack([p.text for p in profiles]).astype(np.float32)
        real = columns[cands]
        context = np.stack(
            [np.log1p(social_counts(model, rows)[real]), model._context().popularity[real]],
            axis=-1,
        ).astype(np.float32)
        out_scores, out_weights = numpy_layers(model).forward(
            text, real, prefs.features(member_rows, cands), context
        )
        learned = out_scores.astype(np.float64)
        finite = scores[np.isfinite(scores)]
        spread = float(finite.max() - finite.min()) if len(finite) else 0.0
        floor = learned.min() - 1.0 - spread
        scores = np.where(
            np.isfinite(scores), scores - (finite.max() if len(finite) else 0.0) + floor, -np.inf
        )
        scores[cands] = learned
        weights[:, cands] = out_weights
    cols = policies.top_columns(scores, n)
    return cols, scores[cols], weights[:, cols]
