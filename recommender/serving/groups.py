"""Recommendations for a listening group: the group model over the servable catalogue.

Each member's history row and profile (NCF statistics over the whole catalogue, taste-text
vector) are kept with their listener state, so a request scores only the servable artists.
Members' disliked artists, the room's played artists and curation rules (global and the
room's) are left out; each track says how each member feels about it.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from audotics.errors import NotFound, PermissionDenied
from ml.base import ModelLoadError
from ml.group import policies
from ml.group.estimator import GroupRecommender
from ml.group.serving import (
    MemberProfile,
    member_logits,
    member_profile,
    recommend_group_columns,
)
from monitoring.timing import observe
from recommender.selectors_content import ModelNotReady
from recommender.selectors_ml import model_registry
from recommender.serving.catalogue import ServingCatalogue, TrackCard, serving_catalogue
from recommender.serving.curation import REVISION_KEY as CURATION_KEY
from recommender.serving.curation import active_rules
from recommender.serving.rooms import RoomState, room_key, room_revision, room_state_get
from recommender.serving.state import (
    ListenerState,
    generation_key,
    listener_generation,
    listener_state_get,
)
from recommender.serving.users import pick_track

GROUP = "group"
RESULT_KEY = "recs:group:{}:{}:{}"
NOT_TRAINED = "the group model is not trained yet: run manage.py train group"
SLACK = 10
#: a member's standardised NCF preference (over the whole catalogue) from which an item "fits"
#: them; below zero it is "not for" them
FITS = 2.0


#: a group's list recomputed (after a member's feedback, a queue change, a new version, a miss)
GROUP_UPDATE = "recs.update.group"


class MemberFeeling(TypedDict):
    id: int  # the member's user id
    user: str
    feeling: str  # "fits", "neutral", "not for"
    weight: float


class GroupTrack(TypedDict):
    track: TrackCard
    score: float
    confidence: float
    parts: dict[str, float]
    members: list[MemberFeeling]
    explanation: str
    curation: str | None


class GroupRecommendations(TypedDict):
    group: int
    policy: str
    results: list[GroupTrack]
    satisfaction: dict[str, float]
    model_versions: dict[str, str]
    cached: bool
    generated_at: str


def _group_model() -> tuple[GroupRecommender, str]:
    try:
        model = model_registry().get(GROUP)
    except (ModelLoadError, FileNotFoundError, KeyError):
        raise ModelNotReady(NOT_TRAINED) from None
    version = model_registry().version(GROUP)
    if not isinstance(model, GroupRecommender) or version is None:
        raise ModelNotReady(NOT_TRAINED)
    return model, version


def _member_inputs(
    model: GroupRecommender, version: str, catalogue: ServingCatalogue, state: ListenerState
) -> tuple[sp.csr_matrix, MemberProfile, np.ndarray]:
    """A member's history row, profile and NCF logits over the servable artists (kept)."""
    key = ("group", version)
    found = state.derived.get(key)
    if found is None:
        row = model.history_matrix([state.history])
        profile = member_profile(model, row, state.raw_id)
        found = (row, profile, member_logits(model, [profile], catalogue.servable)[0])
        state.derived[key] = found
    return found


def _played_columns(model: GroupRecommender, plays: tuple[tuple[int, int], ...]) -> np.ndarray:
    cols = [model.item_index_[raw] for _, raw in reversed(plays) if raw in model.item_index_]
    return np.asarray(list(dict.fromkeys(cols)), dtype=np.int64)


def _feelings(
    weights: np.ndarray, names: list[str], ids: tuple[int, ...]
) -> tuple[list[MemberFeeling], str]:
    feelings = [
        MemberFeeling(
            id=pk,
            user=name,
            feeling="fits" if w >= FITS else "not for" if w < 0 else "neutral",
            weight=round(float(w), 4),
        )
        for pk, name, w in zip(ids, names, weights.tolist(), strict=True)
    ]
    fits = [f["user"] for f in feelings if f["feeling"] == "fits"]
    others = [f"{f['user']} {f['feeling']}" for f in feelings if f["feeling"] != "fits"]
    text = f"fits {' and '.join(fits)}" if fits else "a middle ground for everyone"
    return feelings, "; ".join([text, *others])


def group_recommendations(
    *, group_id: int, user_id: int | None = None, n: int = 10, policy: str = policies.LEARNED
) -> GroupRecommendations:
    """The group's top ``n`` tracks under ``policy`` with member attribution.

    With ``user_id``, only a member may ask (:class:`PermissionDenied` otherwise); an unknown
    group raises :class:`NotFound`.
    """
    policy = policies.policy_name(policy)
    result_key = RESULT_KEY.format(group_id, n, policy)
    found = cache.get_many([room_key(group_id), result_key, CURATION_KEY])
    room = room_state_get(
        group_id=group_id, revision=room_revision(found.get(room_key(group_id)), group_id=group_id)
    )
    if not room.exists:
        raise NotFound(f"no group {group_id}")
    if user_id is not None and not room.has_member(user_id):
        raise PermissionDenied("only members can see this group's recommendations")
    model, version = _group_model()
    keys = [generation_key(pk) for pk in room.member_ids]
    stored = cache.get_many(keys)
    generations = tuple(
        listener_generation(stored.get(k), user_id=pk)
        for k, pk in zip(keys, room.member_ids, strict=True)
    )
    curation_rev = int(found.get(CURATION_KEY) or 0)
    stamp = (room.revision, generations, version, curation_rev)
    seconds = int(getattr(settings, "RECOMMENDATIONS_CACHE_SECONDS", 300))
    entry = found.get(result_key) if seconds > 0 else None
    if entry is not None and entry[0] == stamp:
        return {**entry[1], "cached": True}  # type: ignore[typeddict-item]
    started = time.perf_counter()
    payload = _compute(model, version, room, generations, n, policy, curation_rev)
    observe(GROUP_UPDATE, time.perf_counter() - started)
    if seconds > 0:
        cache.set(result_key, (stamp, payload), seconds)
    return payload


def _compute(
    model: GroupRecommender, version: str, room: RoomState, generations: tuple[int, ...],
    n: int, policy: str, curation_rev: int,
) -> GroupRecommendations:  # fmt: skip
    if not room.member_ids:
        raise ModelNotReady("the group has no members")
    catalogue = serving_catalogue(version=f"{GROUP}:{version}", item_index=model.item_index_)
    states = [
        listener_state_get(user_id=pk, generation=g)
        for pk, g in zip(room.member_ids, generations, strict=True)
    ]
    inputs = [_member_inputs(model, version, catalogue, s) for s in states]
    history = sp.vstack([row for row, _, _ in inputs]).tocsr()
    rules = active_rules(group_id=room.group_id, revision=curation_rev)
    excluded = {
        model.item_index_[a] for s in states for a in s.excluded_artists if a in model.item_index_
    }
    blocked = (
        {c for c, pk in catalogue.artist_pk_of_column.items() if pk in rules.blocked_artists}
        if rules.blocked_artists
        else set()
    )
    keep = ~np.isin(catalogue.servable, list(excluded | blocked))
    columns = catalogue.servable[keep]
    profiles = [p for _, p, _ in inputs]
    result = recommend_group_columns(
        model, history, profiles, columns, n=n + SLACK, policy=policy,
        played=_played_columns(model, room.plays),
        logits=np.stack([servable[keep] for _, _, servable in inputs]),
    )  # fmt: skip
    names = list(room.names)
    avoid = set().union(*(s.excluded_tracks for s in states))
    z = _preferences(model, profiles, result.item_ids)
    results = _tracks(model, catalogue, result, z, (names, room.member_ids), avoid, rules, n)
    return GroupRecommendations(
        group=room.group_id,
        policy=policy,
        results=results,
        satisfaction={
            name: round(float(v), 4)
            for name, v in zip(names, np.asarray(result.satisfaction).tolist(), strict=True)
        },
        model_versions={GROUP: version},
        cached=False,
        generated_at=timezone.now().isoformat(),
    )


def _preferences(
    model: GroupRecommender, profiles: list[MemberProfile],
    items: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Members x items standardised NCF preferences (statistics over the whole catalogue)."""
    logits = member_logits(model, profiles, model.item_columns(items))
    stats = np.stack([p.stats for p in profiles])
    out: np.ndarray = (logits - stats[:, [0]]) / np.maximum(stats[:, [1]], 1e-6)
    return out


def _tracks(
    model: GroupRecommender, catalogue: ServingCatalogue, result: Any, z: np.ndarray,
    members: tuple[list[str], tuple[int, ...]], avoid: set[str], rules: Any, n: int,
) -> list[GroupTrack]:  # fmt: skip
    names, ids = members
    spread = float(np.std(result.scores)) or 1.0
    scored: list[tuple[float, GroupTrack]] = []
    for k, item in enumerate(result.item_ids.tolist()):
        col = model.item_index_[item]
        card = pick_track(catalogue, col, avoid, rules)
        if card is None:
            continue
        sid = card["spotify_id"]
        shift = rules.shift(
            sid,
            catalogue.artist_of_track.get(sid, -1),
            catalogue.genres_of_track.get(sid, frozenset()),
        )
        feelings, text = _feelings(z[:, k], names, ids)
        agreement = sum(f["feeling"] != "not for" for f in feelings) / max(len(feelings), 1)
        score = float(result.scores[k])
        scored.append((score + shift * spread, GroupTrack(
            track=card, score=round(score, 5), confidence=round(agreement, 4),
            parts={"group": round(score, 5)}, members=feelings, explanation=text,
            curation="boosted" if shift > 0 else "buried" if shift < 0 else None,
        )))  # fmt: skip
    scored.sort(key=lambda pair: -pair[0])
    return [t for _, t in scored][:n]
