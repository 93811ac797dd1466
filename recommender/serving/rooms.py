"""A listening group's serving state: who is in it and what it played lately.

A group request needs the members (to check the caller is one and to fold each in) and the
room's recent plays (never played again). Both change far less often than they are read, so
each group has a *revision* counter in the cache, bumped by a membership change, a rename or
deletion, a member's new display name and a play in the room (signals, now and on commit);
each process keeps the last state it read per group and re-reads the database only when the
revision moved.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from groups.models import ListeningGroup
from recommender.models import FeedbackEvent, User

ROOM_KEY = "recs:room:{}"
#: the room's latest plays kept (their artists are not recommended again)
PLAYED_WINDOW = 50
MAX_ROOMS = 2048


def room_key(group_id: int) -> str:
    return ROOM_KEY.format(group_id)


def room_revision_bump(*, group_id: int) -> None:
    """Make every process re-read the group's members and plays at its next request."""
    key = room_key(group_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)


def room_revision_bump_on_commit(*, group_id: int) -> None:
    """Bump now and after the surrounding transaction commits (see the listener generation)."""
    room_revision_bump(group_id=group_id)
    transaction.on_commit(lambda: room_revision_bump(group_id=group_id))


def room_revision(found: object, *, group_id: int) -> int:
    """The revision read from the cache; a missing one starts at the time in milliseconds."""
    if found is not None:
        return int(str(found))
    key = room_key(group_id)
    cache.add(key, int(time.time() * 1000), None)
    return int(cache.get(key) or 0)


@dataclass(frozen=True)
class RoomState:
    group_id: int
    revision: int
    exists: bool
    member_ids: tuple[int, ...]  # by primary key
    names: tuple[str, ...]  # display names, in the order of ``member_ids``
    plays: tuple[tuple[int, int], ...]  # newest first: (feedback pk, raw artist id)

    def has_member(self, user_id: int) -> bool:
        return user_id in self.member_ids


_ROOMS: OrderedDict[int, RoomState] = OrderedDict()
_LOCK = threading.Lock()


def _recent_plays(group_id: int) -> tuple[tuple[int, int], ...]:
    rows = (
        FeedbackEvent.objects.filter(group_id=group_id, kind=FeedbackEvent.Kind.PLAY)
        .order_by("-pk")
        .values_list("pk", "track__artist__lastfm_id", "track__artist_id")[:PLAYED_WINDOW]
    )
    return tuple((pk, int(a) if a is not None else -int(artist)) for pk, a, artist in rows)


def _load(group_id: int, revision: int) -> RoomState:
    if not ListeningGroup.objects.filter(pk=group_id).exists():
        return RoomState(group_id, revision, False, (), (), ())
    members = list(
        User.objects.filter(memberships__group_id=group_id)
        .order_by("pk")
        .values_list("pk", "display_name", "username")
    )
    return RoomState(
        group_id=group_id,
        revision=revision,
        exists=True,
        member_ids=tuple(pk for pk, _, _ in members),
        names=tuple(display or username for _, display, username in members),
        plays=_recent_plays(group_id),
    )


def room_state_get(*, group_id: int, revision: int) -> RoomState:
    """The group's members and recent plays at ``revision`` (read once per process)."""
    with _LOCK:
        found = _ROOMS.get(group_id)
        if found is not None and found.revision == revision:
            _ROOMS.move_to_end(group_id)
            return found
    state = _load(group_id, revision)
    with _LOCK:
        _ROOMS[group_id] = state
        _ROOMS.move_to_end(group_id)
        while len(_ROOMS) > MAX_ROOMS:
            _ROOMS.popitem(last=False)
    return state


def room_states_clear() -> None:
    with _LOCK:
        _ROOMS.clear()
