"""Curation rules on the serving path: pin, boost, bury and block a track, artist or genre.

Active rules are read once per process and revision (a cache counter bumped whenever a rule is
saved or deleted) and re-read every ``RECHECK_SECONDS`` so start and end dates take effect.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone

from recommender.models import CurationRule, User

REVISION_KEY = "recs:curation:rev"
RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Rules:
    blocked_tracks: frozenset[str] = frozenset()
    blocked_artists: frozenset[int] = frozenset()  # Artist pks
    blocked_genres: frozenset[int] = frozenset()
    #: signed score shifts: (kind, key) -> amount, kind in track/artist/genre
    shifts: dict[tuple[str, object], float] = field(default_factory=dict)
    pins: tuple[str, ...] = ()  # spotify ids, in rule order

    @property
    def empty(self) -> bool:
        return not (
            self.blocked_tracks or self.blocked_artists or self.blocked_genres or self.shifts
            or self.pins
        )  # fmt: skip

    def blocks(self, spotify_id: str, artist_pk: int, genres: frozenset[int]) -> bool:
        return (
            spotify_id in self.blocked_tracks
            or artist_pk in self.blocked_artists
            or bool(genres & self.blocked_genres)
        )

    def shift(self, spotify_id: str, artist_pk: int, genres: frozenset[int]) -> float:
        if not self.shifts:
            return 0.0
        total = self.shifts.get(("track", spotify_id), 0.0)
        total += self.shifts.get(("artist", artist_pk), 0.0)
        return total + sum(self.shifts.get(("genre", g), 0.0) for g in genres)


def curation_revision_bump() -> None:
    """Every process re-reads the rules at its next request, and no kept list is trusted.

    Every listener's ``recs_generation`` moves too (one UPDATE over the users table: curation
    edits are rare), so per-process copies of cached lists are dropped at once.
    """
    try:
        cache.incr(REVISION_KEY)
    except ValueError:
        cache.set(REVISION_KEY, 1, None)
    User.objects.update(recs_generation=F("recs_generation") + 1)


def _read(group_id: int | None) -> Rules:
    now = timezone.now()
    scope = Q(group__isnull=True) | Q(group_id=group_id) if group_id else Q(group__isnull=True)
    live = (
        CurationRule.objects.filter(scope)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("pk")
        .values_list("action", "track__spotify_id", "artist_id", "genre_id", "amount")
    )
    blocked: dict[str, set[object]] = {"track": set(), "artist": set(), "genre": set()}
    shifts: dict[tuple[str, object], float] = {}
    pins: list[str] = []
    for action, sid, artist, genre, amount in live:
        kind, key = ("track", sid) if sid else ("artist", artist) if artist else ("genre", genre)
        if action == CurationRule.Action.BLOCK:
            blocked[kind].add(key)
        elif action == CurationRule.Action.PIN and kind == "track":
            pins.append(str(sid))
        elif action == CurationRule.Action.PIN:
            shifts[(kind, key)] = shifts.get((kind, key), 0.0) + 1e3  # an artist/genre pin
        else:
            sign = 1.0 if action == CurationRule.Action.BOOST else -1.0
            shifts[(kind, key)] = shifts.get((kind, key), 0.0) + sign * amount
    return Rules(
        blocked_tracks=frozenset(str(t) for t in blocked["track"]),
        blocked_artists=frozenset(int(str(a)) for a in blocked["artist"]),
        blocked_genres=frozenset(int(str(g)) for g in blocked["genre"]),
        shifts=shifts,
        pins=tuple(dict.fromkeys(pins)),
    )


_lock = threading.Lock()
_rules: dict[int | None, tuple[int, float, Rules]] = {}


def active_rules(*, group_id: int | None, revision: int) -> Rules:
    """The rules in force for a listener (``group_id=None``) or a room, cached per revision."""
    found = _rules.get(group_id)
    now = time.monotonic()
    if found is not None and found[0] == revision and now - found[1] < RECHECK_SECONDS:
        return found[2]
    rules = _read(group_id)
    with _lock:
        _rules[group_id] = (revision, now, rules)
    return rules


def curation_rules_clear() -> None:
    _rules.clear()
