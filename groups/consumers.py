"""The room socket: ``/ws/rooms/<code>/`` for members only (protocol in ``groups/PROTOCOL.md``).

Thin by design (STYLE rule 1): a frame is parsed, checked and handed to one service; the
services write and broadcast after commit. A bad frame gets an error frame and the socket
stays open; a member sends at most ``RATE`` frames a second (``BURST`` at once).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from audotics.errors import ApplicationError
from groups import room_actions
from groups.events import room_group_name
from groups.room_actions import BadFrame
from monitoring.timing import observe

RATE = 10.0
BURST = 20
#: votes and likes within this many seconds share one queue recomputation (per process)
REFRESH_DELAY = 0.15
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

_pending: dict[int, asyncio.Task[None]] = {}
#: votes whose learning signal waits for the room's next recomputation (per process)
_votes: dict[int, list[tuple[int, int, int]]] = {}
#: when the first vote of a pending refresh arrived (the recommendation update latency's start)
_since: dict[int, float] = {}
ROOM_UPDATE = "recs.update.room"


class RateLimited(ApplicationError):
    code = "rate_limited"
    http_status = 429


class RoomConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    group_id: int | None = None
    user_id: int | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Room events go straight out: Channels' dispatch would first queue each delivery
        behind the database thread (``aclose_old_connections``), so one vote's database work
        delayed its fan-out to every member (bench/room_fanout.py)."""
        if message.get("type") == "room.event":
            await self.room_event(message)
            return
        await super().dispatch(message)

    async def connect(self) -> None:
        await self.accept()
        self.tokens, self.refilled = float(BURST), time.monotonic()
        code = str(self.scope["url_route"]["kwargs"]["code"])
        user = self.scope.get("user")
        try:
            self.group_id = await database_sync_to_async(room_actions.socket_open)(
                code=code, user=user
            )
        except ApplicationError as error:
            await self._error(error)
            await self.close(CLOSE_NOT_FOUND if error.http_status == 404 else CLOSE_FORBIDDEN)
            return
        self.user_id = int(user.pk)
        await self.channel_layer.group_add(room_group_name(self.group_id), self.channel_name)
        await self._send_state()

    async def disconnect(self, code: int) -> None:
        if self.group_id is None or self.user_id is None:
            return
        await self.channel_layer.group_discard(room_group_name(self.group_id), self.channel_name)
        await database_sync_to_async(room_actions.socket_closed)(
            group_id=self.group_id, user_id=self.user_id
        )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.group_id is None:
            return
        try:
            self._spend_token()
            if text_data is None:
                raise BadFrame("frames are JSON text")
            try:
                content = json.loads(text_data)
            except ValueError:
                raise BadFrame("the frame is not valid JSON") from None
            await self.receive_json(content)
        except ApplicationError as error:
            await self._error(error)

    def _spend_token(self) -> None:
        now = time.monotonic()
        self.tokens = min(float(BURST), self.tokens + (now - self.refilled) * RATE)
        self.refilled = now
        if self.tokens < 1.0:
            raise RateLimited(f"slow down: at most {RATE:.0f} messages a second")
        self.tokens -= 1.0

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        assert self.group_id is not None and self.user_id is not None
        action = room_actions.parse(content)
        await aclose_old_connections()
        reply = await database_sync_to_async(room_actions.perform)(
            group_id=self.group_id, user_id=self.user_id, action=action
        )
        if reply.state:
            await self._send_state()
        if reply.learn is not None:
            _votes.setdefault(self.group_id, []).append(reply.learn)
        if reply.refresh:
            self._refresh_soon(self.group_id)
        if reply.frame is not None:
            await self.send_json(reply.frame)

    def _refresh_soon(self, group_id: int) -> None:
        """One recomputation for a run of votes in this process (within ``REFRESH_DELAY``)."""
        if group_id in _pending and not _pending[group_id].done():
            return
        _since[group_id] = time.perf_counter()
        _pending[group_id] = asyncio.get_running_loop().create_task(_refresh_later(group_id))

    async def room_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("type") == "state" and not any(
            m["id"] == self.user_id for m in event["room"]["members"]
        ):
            await self._error(ApplicationError("you are no longer in this room"), code="left")
            await self.close(CLOSE_FORBIDDEN)
            return
        await self.send_json(event)

    async def _send_state(self) -> None:
        assert self.group_id is not None
        await aclose_old_connections()
        state = await database_sync_to_async(room_actions.state_for)(group_id=self.group_id)
        await self.send_json({"type": "state", "room": state})

    async def _error(self, error: ApplicationError, code: str | None = None) -> None:
        await self.send_json(
            {
                "type": "error",
                "code": code or error.code,
                "message": error.message,
                "fields": error.extra.get("fields", {}),
            }
        )

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


async def _refresh_later(group_id: int, delay: float = REFRESH_DELAY) -> None:
    """Learn from the votes gathered meanwhile, then recompute and push the queue once."""
    await asyncio.sleep(delay)
    votes = _votes.pop(group_id, [])
    refresh: Callable[..., None] = room_actions.refresh
    await database_sync_to_async(refresh)(group_id=group_id, votes=votes)
    since = _since.pop(group_id, None)
    if since is not None:  # the first vote of the run -> the refreshed queue broadcast
        observe(ROOM_UPDATE, time.perf_counter() - since)
    if _votes.get(group_id):  # votes that came in while this one ran
        _since[group_id] = time.perf_counter()
        _pending[group_id] = asyncio.get_running_loop().create_task(_refresh_later(group_id))
