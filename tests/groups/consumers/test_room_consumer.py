"""The room socket (groups/PROTOCOL.md) through the production ASGI stack."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async

from groups.consumers import BURST
from groups.models import ListeningGroup
from recommender.models import User
from tests.groups.consumers.conftest import next_frame, room_socket, state_where
from tests.groups.consumers.live_room import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _votes_of(room: dict[str, Any], entry: int) -> dict[str, int]:
    return next((dict(e["votes"]) for e in room["queue"] if e["id"] == entry), {})


async def test_a_member_connects_and_gets_the_room_state(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    socket = await room_socket(live_room.code, cookies[listeners[1].pk])
    try:
        room = (await next_frame(socket, "state"))["room"]

        assert room["code"] == live_room.code
        assert [m["id"] for m in room["members"]] == [u.pk for u in listeners]
        assert next(m for m in room["members"] if m["id"] == listeners[1].pk)["online"]
        assert room["now_playing"] is not None and room["queue"]
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
async def test_non_members_get_an_error_and_close_4403(
    live_room: ListeningGroup, outsider: User, who: str
) -> None:
    cookie = await database_sync_to_async(session_cookie)(outsider) if who == "outsider" else None
    socket = await room_socket(live_room.code, cookie)
    try:
        error = await next_frame(socket, "error")
        closed = await next_frame(socket, "close")

        assert error["code"] == "permission_denied"
        assert closed["code"] == 4403
    finally:
        await socket.disconnect()


async def test_an_unknown_room_closes_4404(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    socket = await room_socket("NOSUCHRM", cookies[listeners[0].pk])
    try:
        assert (await next_frame(socket, "error"))["code"] == "not_found"
        assert (await next_frame(socket, "close"))["code"] == 4404
    finally:
        await socket.disconnect()


@pytest.mark.parametrize(
    ("frame", "fields"),
    [
        ("not json", set()),
        ("[1, 2]", set()),
        ('{"type": "dance"}', {"type"}),
        ('{"type": "vote", "entry": "7", "value": 1}', {"entry"}),
        ('{"type": "vote", "entry": 7, "value": true}', {"value"}),
        ('{"type": "vote", "value": 1}', {"entry"}),
        ('{"type": "vote", "entry": 7, "value": 1, "weight": 2}', {"weight"}),
        ('{"type": "mute", "user": 1, "muted": "yes"}', {"muted"}),
    ],
)
async def test_a_malformed_frame_gets_an_error_and_the_socket_stays_open(
    live_room: ListeningGroup,
    listeners: list[User],
    cookies: dict[int, bytes],
    frame: str,
    fields: set[str],
) -> None:
    """Every refusal has the error vocabulary's shape: code, message and fields."""
    socket = await room_socket(live_room.code, cookies[listeners[1].pk])
    try:
        await next_frame(socket, "state")
        await socket.send_to(text_data=frame)
        error = await next_frame(socket, "error")

        assert error["code"] == "bad_frame" and error["message"]
        assert set(error["fields"]) == fields
        assert all(error["fields"][name] for name in fields)
        await socket.send_json_to({"type": "resync"})
        assert (await next_frame(socket, "state"))["room"]["code"] == live_room.code
    finally:
        await socket.disconnect()


async def test_a_vote_reaches_the_other_members_then_the_recomputed_state(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    a = await room_socket(live_room.code, cookies[listeners[1].pk])
    b = await room_socket(live_room.code, cookies[listeners[2].pk])
    try:
        entry = (await next_frame(a, "state"))["room"]["queue"][0]["id"]
        await next_frame(b, "state")
        await a.send_json_to({"type": "vote", "entry": entry, "value": 1})

        votes = await next_frame(b, "votes")
        assert votes == {
            "type": "votes", "entry": entry, "up": 1, "down": 0,
            "by": listeners[1].pk, "value": 1, "removed": False,
        }  # fmt: skip
        room = await state_where(b, lambda r: str(listeners[1].pk) in _votes_of(r, entry))
        assert _votes_of(room, entry) == {str(listeners[1].pk): 1}
        # the voter gets the same frames; wait for the recomputation before closing
        assert (await next_frame(a, "votes"))["by"] == listeners[1].pk
        await state_where(a, lambda r: str(listeners[1].pk) in _votes_of(r, entry))
    finally:
        await a.disconnect()
        await b.disconnect()


async def test_frames_beyond_the_rate_limit_are_refused_and_the_socket_stays_open(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    socket = await room_socket(live_room.code, cookies[listeners[1].pk])
    try:
        await next_frame(socket, "state")
        for _ in range(2 * BURST):
            await socket.send_json_to({"type": "ping"})
        replies = []
        while len(replies) < 2 * BURST:
            frame = await socket.receive_json_from(timeout=5)
            if frame["type"] != "state":  # presence
                replies.append(frame["type"] if frame["type"] == "pong" else frame["code"])

        assert replies.count("pong") >= BURST
        assert replies.count("rate_limited") >= 1
        assert set(replies) == {"pong", "rate_limited"}
        await asyncio.sleep(0.3)  # a few tokens back
        await socket.send_json_to({"type": "resync"})
        await next_frame(socket, "state")
    finally:
        await socket.disconnect()


@pytest.mark.parametrize(
    "frame", [{"type": "pause"}, {"type": "next"}, {"type": "lock", "locked": True}]
)
async def test_host_actions_by_a_member_are_refused(
    live_room: ListeningGroup,
    listeners: list[User],
    cookies: dict[int, bytes],
    frame: dict[str, Any],
) -> None:
    socket = await room_socket(live_room.code, cookies[listeners[1].pk])
    try:
        await next_frame(socket, "state")
        await socket.send_json_to(frame)

        assert (await next_frame(socket, "error"))["code"] == "not_host"
    finally:
        await socket.disconnect()


async def test_a_kicked_member_is_told_and_closed(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    host = await room_socket(live_room.code, cookies[listeners[0].pk])
    guest = await room_socket(live_room.code, cookies[listeners[2].pk])
    try:
        await next_frame(host, "state")
        await next_frame(guest, "state")
        await host.send_json_to({"type": "kick", "user": listeners[2].pk})

        assert (await next_frame(guest, "kicked"))["user"] == listeners[2].pk
        assert (await next_frame(guest, "error"))["code"] == "left"
        assert (await next_frame(guest, "close"))["code"] == 4403
        room = await state_where(host, lambda r: len(r["members"]) == 2)
        assert listeners[2].pk not in [m["id"] for m in room["members"]]
    finally:
        await guest.disconnect()
        await host.disconnect()


async def test_a_member_who_comes_back_sees_the_current_state_within_2_s(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    voter = await room_socket(live_room.code, cookies[listeners[1].pk])
    away = await room_socket(live_room.code, cookies[listeners[2].pk])
    try:
        entry = (await next_frame(voter, "state"))["room"]["queue"][0]["id"]
        await next_frame(away, "state")
        await away.disconnect()
        await voter.send_json_to({"type": "vote", "entry": entry, "value": -1})
        await state_where(voter, lambda r: str(listeners[1].pk) in _votes_of(r, entry))

        started = time.perf_counter()
        away = await room_socket(live_room.code, cookies[listeners[2].pk])
        room = (await next_frame(away, "state", timeout=2.0))["room"]
        elapsed = time.perf_counter() - started

        assert elapsed < 2.0
        assert _votes_of(room, entry) == {str(listeners[1].pk): -1}
        assert next(m for m in room["members"] if m["id"] == listeners[2].pk)["online"]
    finally:
        await voter.disconnect()
        await away.disconnect()


async def test_a_votes_refresh_is_timed_as_the_rooms_recommendation_update(
    live_room: ListeningGroup, listeners: list[User], cookies: dict[int, bytes]
) -> None:
    from monitoring.recorder import RECORDER, TIMING

    a = await room_socket(live_room.code, cookies[listeners[1].pk])
    try:
        entry = (await next_frame(a, "state"))["room"]["queue"][0]["id"]
        RECORDER.drain()
        await a.send_json_to({"type": "vote", "entry": entry, "value": 1})
        await state_where(a, lambda r: str(listeners[1].pk) in _votes_of(r, entry))

        seen: dict[str, int] = {}
        deadline = time.monotonic() + 2
        while "recs.update.room" not in seen and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            for key, pending in RECORDER.drain().items():
                if key[1] == TIMING:
                    seen[key[2]] = seen.get(key[2], 0) + pending.n
        assert seen.get("recs.update.room") == 1  # one refresh for the vote
        assert seen.get("room.broadcast", 0) >= 1  # the votes frame and the new state
    finally:
        await a.disconnect()
