"""A listener's serving state: what the models fold in, rebuilt only when it changes.

The state (weighted artist history, exclusions, recent tracks) is derived from the database:
Last.fm play counts, timestamped plays, seed artists and feedback. Each listener has a
*generation* counter in the cache; feedback, preference updates and new plays bump it, which
both invalidates cached results and keys the per-process copy of the state, so the next
request folds the new signal in (one forward pass, no retraining).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from recommender.models import ArtistPlayCount, FeedbackEvent, ListenerProfile, ListeningEvent

#: A like counts as this many plays of the artist; a +1 vote as VOTE_WEIGHT.
LIKE_WEIGHT = 10.0
VOTE_WEIGHT = 3.0
#: Net skips (skips and down-votes minus likes) after which an artist is left out.
SKIPS_TO_EXCLUDE = 2
RECENT_TRACKS = 5
MAX_STATES = 4096
GENERATION_KEY = "recs:gen:{}"


def generation_key(user_id: int) -> str:
    return GENERATION_KEY.format(user_id)


def listener_generation_bump(*, user_id: int) -> None:
    """Invalidate the listener's cached results and state in every process.

    The cache's counter goes first: a request that sees the user's new ``recs_generation``
    (read from the database with the user) also sees the new counter.
    """
    from django.db.models import F

    from recommender.models import User

    key = generation_key(user_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)
    User.objects.filter(pk=user_id).update(recs_generation=F("recs_generation") + 1)


def listener_generation(found: object, *, user_id: int) -> int:
    """The generation read from the cache, or a fresh one when the cache has none.

    A missing counter (first request, or the cache was flushed) starts at the current time in
    milliseconds, never at a value an older process-local state could still be keyed by.
    """
    if found is not None:
        return int(str(found))
    key = generation_key(user_id)
    cache.add(key, int(time.time() * 1000), None)
    return int(cache.get(key) or 0)


def listener_generation_bump_on_commit(*, user_id: int) -> None:
    """Bump now and again after the surrounding transaction commits.

    The second bump is the one that matters: a request that read the old rows between the two
    is keyed by the first. The first keeps a caller that never commits (tests run inside one
    rolled-back transaction) consistent.
    """
    listener_generation_bump(user_id=user_id)
    transaction.on_commit(lambda: listener_generation_bump(user_id=user_id))


@dataclass(frozen=True)
class ListenerState:
    user_id: int
    raw_id: int  # the Last.fm user id, or minus the user's pk (as the training matrix)
    history: dict[int, float]  # raw artist id -> weight
    excluded_artists: frozenset[int]
    excluded_tracks: frozenset[str]
    recent_tracks: tuple[str, ...]  # spotify ids, newest first
    #: per-model derived values (history rows, group profiles), filled lazily per process
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def _artist_raw(lastfm_id: int | None, pk: int) -> int:
    return int(lastfm_id) if lastfm_id is not None else -int(pk)


def listener_state_build(*, user_id: int) -> ListenerState:
    """Read the listener's signals from the database (four small queries)."""
    profile = (
        ListenerProfile.objects.filter(user_id=user_id).prefetch_related("seed_artists").first()
    )
    lastfm = profile.lastfm_user_id if profile is not None else None
    history: defaultdict[int, float] = defaultdict(float)
    for lastfm_id, pk, count in ArtistPlayCount.objects.filter(user_id=user_id).values_list(
        "artist__lastfm_id", "artist_id", "play_count"
    ):
        history[_artist_raw(lastfm_id, pk)] += count
    plays = (
        ListeningEvent.objects.filter(user_id=user_id)
        .values_list("track__artist__lastfm_id", "track__artist_id")
        .annotate(n=Count("id"))
    )
    for lastfm_id, pk, n in plays:
        history[_artist_raw(lastfm_id, pk)] += n
    if profile is not None:
        for artist in profile.seed_artists.all():
            raw = _artist_raw(artist.lastfm_id, artist.pk)
            history[raw] = max(history[raw], 1)
    recent = list(
        ListeningEvent.objects.filter(user_id=user_id)
        .order_by("-played_at")
        .values_list("track__spotify_id", flat=True)[:RECENT_TRACKS]
    )
    excluded_artists, excluded_tracks = _apply_feedback(user_id, history, recent)
    return ListenerState(
        user_id=user_id,
        raw_id=int(lastfm) if lastfm is not None else -int(user_id),
        history={a: float(w) for a, w in history.items() if w > 0 and a not in excluded_artists},
        excluded_artists=frozenset(excluded_artists),
        excluded_tracks=frozenset(excluded_tracks),
        recent_tracks=tuple(dict.fromkeys(recent))[:RECENT_TRACKS],
    )


def _apply_feedback(
    user_id: int, history: defaultdict[int, float], recent: list[str]
) -> tuple[set[int], set[str]]:
    """Fold the listener's feedback, oldest first, into history weights and exclusions."""
    excluded_artists: set[int] = set()
    excluded_tracks: set[str] = set()
    net_skips: Counter[int] = Counter()
    events = (
        FeedbackEvent.objects.filter(user_id=user_id)
        .order_by("created_at", "pk")
        .values_list("kind", "value", "track__spotify_id", "track__artist__lastfm_id",
                     "track__artist_id")
    )  # fmt: skip
    kind = FeedbackEvent.Kind
    for what, value, sid, lastfm_id, pk in events:
        artist = _artist_raw(lastfm_id, pk)
        positive = what in (kind.LIKE, kind.PLAY) or (what == kind.VOTE and value > 0)
        if what == kind.DISLIKE:
            excluded_artists.add(artist)
            excluded_tracks.add(sid)
        elif positive:
            weight = LIKE_WEIGHT if what == kind.LIKE else 1.0 if what == kind.PLAY else VOTE_WEIGHT
            history[artist] += weight
            excluded_artists.discard(artist)
            excluded_tracks.discard(sid)
            net_skips[artist] -= 1 if what != kind.PLAY else 0
            recent.insert(0, sid)
        else:  # a skip or a down-vote
            excluded_tracks.add(sid)
            net_skips[artist] += 1
            if net_skips[artist] >= SKIPS_TO_EXCLUDE:
                excluded_artists.add(artist)
    return excluded_artists, excluded_tracks


_lock = threading.Lock()
_states: OrderedDict[tuple[int, int], ListenerState] = OrderedDict()


def listener_state_get(*, user_id: int, generation: int) -> ListenerState:
    """The listener's state at ``generation`` (this process's copy, or built and kept)."""
    key = (user_id, generation)
    with _lock:
        state = _states.get(key)
        if state is not None:
            _states.move_to_end(key)
            return state
    state = listener_state_build(user_id=user_id)
    with _lock:
        _states[key] = state
        while len(_states) > MAX_STATES:
            _states.popitem(last=False)
    return state


def listener_states_clear() -> None:
    with _lock:
        _states.clear()
