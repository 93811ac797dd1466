"""Room sockets: the rooms' fixtures, a session cookie per user, and socket helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import WebsocketCommunicator
from django.db import connections

from groups import consumers
from recommender.models import User
from tests.groups.consumers.live_room import session_cookie
from tests.groups.rooms.conftest import (  # noqa: F401 (fixtures)
    _fresh_serving_caches,
    _trained_store,
    demo_data,
    hybrid_and_group,
    listeners,
    live_room,
)

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def cookies(listeners: list[User]) -> dict[int, bytes]:  # noqa: F811 (the fixture)
    """A session cookie for each listener (made here: the tests' bodies are async)."""
    return {user.pk: session_cookie(user) for user in listeners}


@pytest.fixture(autouse=True)
def _socket_hygiene() -> Iterator[None]:
    """Nothing a test's sockets left behind reaches the next test.

    The consumer keeps one pending queue recomputation per room id, per process (a test's
    event loop ends with it, and the next test's room may have the same id); and the consumers'
    database work runs on asgiref's one shared sync thread, whose connection would stay open
    (``CONN_MAX_AGE``) and keep PostgreSQL from dropping the test database.
    """
    consumers._pending.clear()
    consumers._votes.clear()
    yield
    consumers._pending.clear()
    consumers._votes.clear()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


async def room_socket(code: str, cookie: bytes | None = None) -> WebsocketCommunicator:
    """A socket to ``/ws/rooms/<code>/`` through the production ASGI stack (origin checked,
    session cookie read), connected."""
    from audotics.asgi import application

    headers = [ORIGIN, *([(b"cookie", cookie)] if cookie else [])]
    socket = WebsocketCommunicator(application, f"/ws/rooms/{code}/", headers=headers)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def next_frame(socket: WebsocketCommunicator, kind: str, timeout: float = 5.0) -> Any:
    """The next frame of type ``kind`` (others skipped), or the close (``kind="close"``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {kind!r} frame within {timeout} s")
        output = await socket.receive_output(timeout=left)
        if output["type"] == "websocket.close":
            if kind == "close":
                return output
            raise AssertionError(f"closed ({output.get('code')}) while waiting for {kind!r}")
        frame = json.loads(output["text"])
        if frame["type"] == kind:
            return frame


async def state_where(
    socket: WebsocketCommunicator, check: Any, timeout: float = 5.0
) -> dict[str, Any]:
    """The next ``state`` frame whose room passes ``check``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        frame = await next_frame(socket, "state", timeout=max(left, 0.01))
        if check(frame["room"]):
            return dict(frame["room"])
