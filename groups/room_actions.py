"""Room socket frames: parse and check one frame, then call the one service it names.

The synchronous half of ``groups.consumers`` (run through ``database_sync_to_async``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audotics.errors import ApplicationError, NotFound, PermissionDenied
from groups.events import room_changed
from groups.models import ListeningGroup, Membership
from groups.room_state import RoomFrame, room_state
from groups.services import playback, queue, rooms
from recommender.models import User

#: each action's fields and their types (bool is checked before int: True is an int)
ACTIONS: dict[str, dict[str, type]] = {
    "vote": {"entry": int, "value": int},
    "skip": {},
    "enqueue": {"track": str},
    "veto": {"entry": int},
    "remove": {"entry": int},
    "react": {"emoji": str},
    "like": {},
    "dislike": {},
    "play": {},
    "pause": {},
    "next": {},
    "tick": {},
    "kick": {"user": int},
    "mute": {"user": int, "muted": bool},
    "lock": {"locked": bool},
    "policy": {"policy": str},
    "resync": {},
    "ping": {},
    "leave": {},
}
MAX_TEXT = 64


class BadFrame(ApplicationError):
    code = "bad_frame"


@dataclass(frozen=True)
class Action:
    type: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    state: bool = False  # send the caller the room's state (resync)
    refresh: bool = False  # recompute the queue soon (votes)
    learn: tuple[int, int, int] | None = None  # (user, entry, value): a vote to learn from
    frame: dict[str, Any] | None = None  # a frame for the caller only


def _kind(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str) and 0 < len(value) <= MAX_TEXT
    return isinstance(value, expected)


def parse(content: Any) -> Action:
    """A valid action, or :class:`BadFrame` with field errors."""
    if not isinstance(content, dict):
        raise BadFrame("a frame is a JSON object with a type")
    kind = content.get("type")
    if kind not in ACTIONS:
        raise BadFrame(
            f"unknown type {kind!r}", extra={"fields": {"type": [f"one of {', '.join(ACTIONS)}"]}}
        )
    spec = ACTIONS[kind]
    errors = {
        name: [f"required, a {expected.__name__}"]
        for name, expected in spec.items()
        if not _kind(content.get(name), expected)
    }
    unknown = set(content) - set(spec) - {"type"}
    errors.update({name: ["unknown field"] for name in sorted(unknown)})
    if errors:
        raise BadFrame(f"invalid {kind} frame", extra={"fields": errors})
    return Action(kind, {name: content[name] for name in spec})


def socket_open(*, code: str, user: Any) -> int:
    """The room's id when ``user`` is one of its members; marks them online."""
    group = ListeningGroup.objects.filter(code=code.upper()).first()
    if group is None:
        raise NotFound(f"no room {code!r}")
    if user is None or not user.is_authenticated:
        raise PermissionDenied("sign in or join as a guest first")
    if not Membership.objects.filter(group=group, user=user).exists():
        raise PermissionDenied("join this room before listening in")
    rooms.member_socket_opened(group_id=group.pk, user_id=user.pk)
    room_changed(group_id=group.pk)  # presence: the others see them come online
    return int(group.pk)


def socket_closed(*, group_id: int, user_id: int) -> None:
    rooms.member_socket_closed(group_id=group_id, user_id=user_id)
    room_changed(group_id=group_id)


def state_for(*, group_id: int) -> RoomFrame:
    state = room_state(group_id=group_id)
    if state is None:
        raise NotFound("this room no longer exists")
    return state


def refresh(*, group_id: int, votes: list[tuple[int, int, int]] | None = None) -> None:
    """Feed the gathered votes to online learning, then recompute and push the room."""
    group = ListeningGroup.objects.filter(pk=group_id).first()
    if group is None:
        return
    users = {u.pk: u for u in User.objects.filter(pk__in={v[0] for v in votes or []})}
    for user_id, entry_id, value in votes or []:
        if user_id in users:
            queue.vote_feedback_record(
                group=group, user=users[user_id], entry_id=entry_id, value=value
            )
    room_changed(group_id=group_id, recompute=True)


def perform(*, group_id: int, user_id: int, action: Action) -> Reply:
    group = ListeningGroup.objects.filter(pk=group_id).first()
    user = User.objects.filter(pk=user_id).first()
    if group is None or user is None:
        raise NotFound("this room no longer exists")
    a = action.args
    match action.type:
        case "vote":
            queue.entry_vote(group=group, user=user, entry_id=a["entry"], value=a["value"])
            # learning waits for the recomputation, off the vote's path to the members
            return Reply(refresh=True, learn=(user_id, a["entry"], a["value"]))
        case "skip":
            playback.skip_vote(group=group, user=user)
        case "enqueue":
            queue.room_track_enqueue(group=group, user=user, spotify_id=a["track"])
        case "veto":
            queue.entry_veto(group=group, user=user, entry_id=a["entry"])
        case "remove":
            queue.entry_remove(group=group, host=user, entry_id=a["entry"])
        case "react":
            playback.room_react(group=group, user=user, emoji=a["emoji"])
        case "like" | "dislike":
            playback.now_playing_feedback(group=group, user=user, kind=action.type)
        case "play":
            playback.playback_play(group=group, host=user)
        case "pause":
            playback.playback_pause(group=group, host=user)
        case "next":
            playback.playback_next(group=group, host=user)
        case "tick":
            playback.playback_tick(group=group)
        case "kick":
            rooms.member_kick(group=group, host=user, user_id=a["user"])
        case "mute":
            rooms.member_mute(group=group, host=user, user_id=a["user"], muted=a["muted"])
        case "lock":
            rooms.room_lock(group=group, host=user, locked=a["locked"])
        case "policy":
            rooms.room_policy_set(group=group, host=user, policy=a["policy"])
        case "resync":
            return Reply(state=True)
        case "ping":
            rooms.member_seen(group_id=group_id, user_id=user_id)
            return Reply(frame={"type": "pong"})
        case "leave":
            rooms.room_leave(group=group, user=user)
    return Reply()
