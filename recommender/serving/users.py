"""Recommendations for one listener: cache, state, candidates, hybrid, curation, tracks."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from experiments.serving import REVISION_KEY as EXPERIMENT_KEY
from experiments.serving import ArmChoice, ExperimentArm, arm_choice, experiment_revision
from ml.hybrid.details import Prepared
from monitoring.timing import observe
from recommender.selectors_content import ModelNotReady
from recommender.serving.bandit import REVISION_KEY as BANDIT_KEY
from recommender.serving.bandit import bandit_weights
from recommender.serving.catalogue import ServingCatalogue, TrackCard
from recommender.serving.curation import REVISION_KEY as CURATION_KEY
from recommender.serving.curation import Rules, active_rules
from recommender.serving.hybrid import HYBRID, Serving, context_bucket, serving_get
from recommender.serving.state import (
    ListenerState,
    generation_key,
    listener_generation,
    listener_state_get,
)

logger = logging.getLogger(__name__)
RESULT_KEY = "recs:user:{}:{}"
#: a listener's list recomputed (after feedback, new plays, curation, a new version, or a miss)
USER_UPDATE = "recs.update.user"
#: extra artists ranked beyond ``n`` so exclusions and curation still leave ``n`` tracks
SLACK = 10
NEIGHBOURS = 20


class RecommendedTrack(TypedDict):
    track: TrackCard
    score: float
    confidence: float | None
    parts: dict[str, float]
    models: dict[str, float]
    because: str | None
    explanation: str
    fallback: bool
    curation: str | None


class RecommendationContext(TypedDict):
    history: int
    bucket: str
    bandit_bucket: str
    daypart: str
    cold_start: bool
    weights: dict[str, float]


class UserRecommendations(TypedDict):
    results: list[RecommendedTrack]
    fallback: bool
    context: RecommendationContext
    model_versions: dict[str, str]
    experiment: ExperimentArm | None
    generation: int
    cached: bool
    generated_at: str


def _cache_seconds() -> int:
    return int(getattr(settings, "RECOMMENDATIONS_CACHE_SECONDS", 300))


def history_row(serving: Serving, state: ListenerState) -> sp.csr_matrix:
    """The listener's history over the hybrid's item index (kept with the state)."""
    key = ("hybrid-row", serving.version)
    row = state.derived.get(key)
    if row is None:
        row = serving.model.history_matrix([state.history])
        state.derived[key] = row
    return row


def prepared_state(serving: Serving, state: ListenerState) -> tuple[dict[int, str], Prepared]:
    """The listener's content neighbours and prepared hybrid row, once per state and version.

    This is the listener's fold-in: it changes only when their generation does (feedback,
    preferences, new plays), so requests in between only blend, mask and explain.
    """
    key = ("prepared", serving.version)
    found = state.derived.get(key)
    if found is None:
        neighbours = neighbour_columns(serving.catalogue, state.recent_tracks)
        extra = np.fromiter(neighbours, dtype=np.int64, count=len(neighbours))
        found = (neighbours, serving.server.prepare(history_row(serving, state), extra))
        state.derived[key] = found
    return found


def excluded_columns(serving: Serving, state: ListenerState, rules: Rules) -> np.ndarray:
    index = serving.model.item_index_
    cols = [index[a] for a in state.excluded_artists if a in index]
    if rules.blocked_artists:
        cols += [
            c
            for c, pk in serving.catalogue.artist_pk_of_column.items()
            if pk in rules.blocked_artists
        ]
    return np.asarray(cols, dtype=np.int64)


def neighbour_columns(catalogue: ServingCatalogue, recent: tuple[str, ...]) -> dict[int, str]:
    """Artist columns of the content neighbours of the newest recent track -> that track's id."""
    if not recent:
        return {}
    from recommender.selectors_content import content_model

    try:
        model = content_model()
        found = model.similar_tracks(recent[0], n=NEIGHBOURS)
    except (ModelNotReady, KeyError, ValueError):
        return {}
    out: dict[int, str] = {}
    for neighbour in found:
        col = catalogue.column_of_track.get(str(neighbour.id))
        if col is not None:
            out.setdefault(col, str(neighbour.id))
    return out


def pick_track(
    catalogue: ServingCatalogue,
    col: int,
    avoid: frozenset[str] | set[str],
    rules: Rules,
    preferred: str | None = None,
) -> TrackCard | None:
    """The artist's first playable track: not avoided, not blocked (``preferred`` first)."""
    cards = catalogue.tracks.get(col, [])
    if preferred is not None:
        cards = sorted(cards, key=lambda c: c["spotify_id"] != preferred)
    for card in cards:
        sid = card["spotify_id"]
        if sid in avoid:
            continue
        genres = catalogue.genres_of_track.get(sid, frozenset())
        if rules.blocks(sid, catalogue.artist_of_track.get(sid, -1), genres):
            continue
        return card
    return None


def explain(
    item: dict[str, Any], catalogue: ServingCatalogue, neighbour_of: str | None
) -> tuple[str | None, str]:
    because = item.get("because")
    name = catalogue.artist_names.get(because) if because is not None else None
    if item.get("fallback"):
        return None, "popular right now"
    if name:
        return name, f"because you play {name}"
    if neighbour_of is not None:
        return None, "sounds like what you just played"
    return None, f"new for you ({item.get('top_member', 'blend')})"


def _model_shares(parts: dict[str, float]) -> dict[str, float]:
    """The parts grouped by the brief's models: user (collaborative members) and content."""
    content = parts.get("content", 0.0)
    return {
        "user": sum(v for k, v in parts.items() if k != "content"),
        "content": content,
        "group": 0.0,
    }


def _tracks(
    serving: Serving, state: ListenerState, ranked: list[dict[str, Any]], rules: Rules,
    neighbours: dict[int, str], n: int,
) -> list[RecommendedTrack]:  # fmt: skip
    catalogue = serving.catalogue
    index = serving.model.item_index_
    avoid = set(state.excluded_tracks) | set(state.recent_tracks)
    scores = np.array([r["score"] for r in ranked]) if ranked else np.zeros(1)
    spread = float(scores.std()) or 1.0
    chosen: list[tuple[float, float, dict[str, Any], TrackCard, int]] = []
    for item in ranked:
        col = index[item["item"]]
        card = pick_track(catalogue, col, avoid, rules, neighbours.get(col))
        if card is None:
            continue
        sid = card["spotify_id"]
        genres = catalogue.genres_of_track.get(sid, frozenset())
        shift = rules.shift(sid, catalogue.artist_of_track.get(sid, -1), genres)
        chosen.append((item["score"] + shift * spread, shift, item, card, col))
    chosen.sort(key=lambda c: -c[0])
    results = []
    for _, shift, item, card, col in chosen[: max(0, n - len(rules.pins))]:
        because, text = explain(item, catalogue, neighbours.get(col))
        results.append(RecommendedTrack(
            track=card, score=round(float(item["score"]), 5),
            confidence=round(float(item["confidence"]), 5),
            parts={k: round(float(v), 5) for k, v in item["parts"].items()},
            models={k: round(v, 5) for k, v in _model_shares(item["parts"]).items()},
            because=because, explanation=text, fallback=bool(item["fallback"]),
            curation="boosted" if shift > 0 else "buried" if shift < 0 else None,
        ))  # fmt: skip
    return _pinned(catalogue, rules, avoid) + results[: max(0, n - len(rules.pins))]


def _pinned(catalogue: ServingCatalogue, rules: Rules, avoid: set[str]) -> list[RecommendedTrack]:
    if not rules.pins:
        return []
    from recommender.models import Track

    rows = {
        t.spotify_id: t
        for t in Track.objects.filter(spotify_id__in=rules.pins).select_related("artist")
    }
    pinned = []
    for sid in rules.pins:
        track = rows.get(sid)
        if track is None or sid in avoid:
            continue
        card = TrackCard(
            spotify_id=sid, name=track.name, artist=track.artist.name, album=track.album_name,
            release_year=track.release_year, popularity=track.popularity,
            duration_ms=track.duration_ms,
        )  # fmt: skip
        pinned.append(RecommendedTrack(
            track=card, score=0.0, confidence=None, parts={}, models={}, because=None,
            explanation="picked by our curators", fallback=False, curation="pinned",
        ))  # fmt: skip
    return pinned


@dataclass(frozen=True)
class Served:
    """A response: freshly computed (``payload``) or the cached bytes of an earlier one."""

    payload: UserRecommendations | None = None
    rendered: bytes | None = None
    #: the experiment's arm that served it (None: no experiment runs)
    arm: ArmChoice | None = None

    def data(self) -> UserRecommendations:
        if self.payload is not None:
            return self.payload
        assert self.rendered is not None
        loaded: UserRecommendations = json.loads(self.rendered)
        return loaded


def render(payload: Mapping[str, Any]) -> bytes:
    """The JSON a client receives (compact, UTF-8), as DRF's renderer would write it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


_kept_lock = threading.Lock()
#: (user, n) -> ((recs_generation, active model version), rendered, arm): this process's copies
_kept: OrderedDict[tuple[int, int], tuple[tuple[int, str], bytes, ArmChoice | None]] = OrderedDict()
MAX_KEPT = 4096


def _keep(
    key: tuple[int, int], stamp: tuple[int, str], rendered: bytes, arm: ArmChoice | None
) -> None:
    with _kept_lock:
        _kept[key] = (stamp, rendered, arm)
        _kept.move_to_end(key)
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)


def kept_clear() -> None:
    with _kept_lock:
        _kept.clear()


def user_recommendations_served(
    *, user_id: int, n: int = 10, recs_generation: int | None = None
) -> Served:
    """Like :func:`user_recommendations`, but a cache hit is returned as the rendered bytes.

    A cached list is stored already rendered (with ``cached: true``), so a hit costs one cache
    round trip and no serialisation. With ``recs_generation`` (the user's column, read with
    the user at authentication) a list this process served before at that generation and model
    version is answered from its own copy, without the round trip: every bump of the cache's
    generation also bumps the column (and so do an experiment's start and stop, which is why
    the copy's stamp holds the *active* version even where an arm served another one).
    """
    serving = serving_get()
    active = serving.version
    seconds = _cache_seconds()
    kept_key = (user_id, n)
    if recs_generation is not None and seconds > 0:
        kept = _kept.get(kept_key)
        if kept is not None and kept[0] == (recs_generation, active):
            return Served(rendered=kept[1], arm=kept[2])
    keys = [
        generation_key(user_id), RESULT_KEY.format(user_id, n), BANDIT_KEY, CURATION_KEY,
        EXPERIMENT_KEY,
    ]  # fmt: skip
    found = cache.get_many(keys)
    experiment_rev = experiment_revision(found.get(EXPERIMENT_KEY))
    arm = _arm_serving(user_id, experiment_rev)
    choice = arm[0] if arm is not None else None
    if arm is not None:
        serving = arm[1]
    generation = listener_generation(found.get(keys[0]), user_id=user_id)
    curation_rev = int(found.get(keys[3]) or 0)
    entry = found.get(keys[1]) if seconds > 0 else None
    stamp = (generation, serving.version, curation_rev, experiment_rev)
    hit = entry is not None and entry[0] == stamp
    payload: UserRecommendations | None = None
    if entry is not None and hit:
        rendered: bytes = entry[1]
    else:
        bandit_rev = int(found.get(keys[2]) or 0)
        started = time.perf_counter()
        payload = _compute(serving, user_id, n, generation, bandit_rev, curation_rev)
        observe(USER_UPDATE, time.perf_counter() - started)
        payload["experiment"] = choice.payload() if choice is not None else None
        if seconds <= 0:
            return Served(payload=payload, arm=choice)
        rendered = render({**payload, "cached": True})
        cache.set(keys[1], (stamp, rendered), seconds)
    if recs_generation is not None:
        _keep(kept_key, (recs_generation, active), rendered, choice)
    return Served(rendered=rendered, arm=choice) if hit else Served(payload=payload, arm=choice)


def _arm_serving(user_id: int, revision: int) -> tuple[ArmChoice, Serving] | None:
    """The listener's arm of the experiment running on the hybrid, with its version loaded.

    An arm whose version does not load serves nobody (logged): its listeners get the active
    version and count as not exposed, rather than an error.
    """
    choice = arm_choice(user_id=user_id, model=HYBRID, revision=revision)
    if choice is None:
        return None
    try:
        return choice, serving_get(version=choice.version)
    except ModelNotReady as exc:
        logger.warning("experiment %s: %s", choice.header, exc)
        return None


def serving_for_user(*, user_id: int) -> Serving:
    """The hybrid that serves this listener now: their arm's version, or the active one."""
    revision = experiment_revision(cache.get(EXPERIMENT_KEY))
    arm = _arm_serving(user_id, revision)
    return arm[1] if arm is not None else serving_get()


def user_recommendations(*, user_id: int, n: int = 10) -> UserRecommendations:
    """The listener's top ``n`` tracks with parts, confidence and explanations (see package)."""
    return user_recommendations_served(user_id=user_id, n=n).data()


def _compute(
    serving: Serving, user_id: int, n: int, generation: int, bandit_rev: int, curation_rev: int
) -> UserRecommendations:
    state = listener_state_get(user_id=user_id, generation=generation)
    row = history_row(serving, state)
    rules = active_rules(group_id=None, revision=curation_rev)
    label, bucket, part = context_bucket(serving.model, row.nnz)
    weights = bandit_weights(
        model=serving.model, version=serving.version, revision=bandit_rev, bucket=bucket
    )
    neighbours, prepared = prepared_state(serving, state)
    ranked = serving.server.recommend(
        row, n=n + SLACK, context={"cold_start": row.nnz <= 3}, weights=weights,
        exclude=excluded_columns(serving, state, rules), prepared=prepared,
    )  # fmt: skip
    results = _tracks(serving, state, ranked, rules, neighbours, n)
    return UserRecommendations(
        results=results,
        fallback=any(r["fallback"] for r in results),
        context=RecommendationContext(
            history=int(row.nnz),
            bucket=label,
            bandit_bucket=bucket,
            daypart=part,
            cold_start=row.nnz <= 3,
            weights={k: round(v, 4) for k, v in weights.items()},
        ),
        model_versions={HYBRID: serving.version},
        experiment=None,
        generation=generation,
        cached=False,
        generated_at=timezone.now().isoformat(),
    )
