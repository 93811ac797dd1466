"""The ASGI app ``bench/room_fanout.py`` serves: the real room socket beside a bare echo room.

    uvicorn room_asgi:application --app-dir bench --lifespan off

``/ws/rooms/<code>/`` is the production room socket behind the production stack
(``AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(...)))``, as in
``audotics/asgi.py``). ``/ws/echo/<name>/`` is the floor: the same stack, and a minimal
``AsyncJsonWebsocketConsumer`` that joins the group ``echo_<name>`` on connect and sends every
frame it receives to that group as it is (no database, no checks).

``BENCH_CHANNEL_PREFIX`` (optional) replaces the pub/sub layer's key prefix, so a bench run
never shares Redis pub/sub channels (which ignore the database number) with anything else.

Diagnosis switches (environment; unset, the room path is the product's, untouched):

* ``BENCH_TRACE=PATH``: one line per step (``<perf_counter> <step>``): frame in, action
  started and done, vote service, feedback, the broadcast's group_send, each socket's send,
  and garbage collections over 1 ms.
* ``BENCH_SWITCH_INTERVAL=S``: the GIL's switch interval.
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audotics.settings.base")

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from audotics.routing import websocket_urlpatterns  # noqa: E402

_prefix = os.environ.get("BENCH_CHANNEL_PREFIX", "").strip()
if os.environ.get("BENCH_SWITCH_INTERVAL"):  # diagnosis: the GIL's switch interval, seconds
    import sys

    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
if _prefix and settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
    # Before the first get_channel_layer(): the layer is built lazily from this dict.
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _prefix


_trace = None
if os.environ.get("BENCH_TRACE"):  # diagnosis: when each step of a round happens (see below)
    _trace = Path(os.environ["BENCH_TRACE"]).open("a", buffering=1)  # noqa: SIM115


def mark(step: str) -> None:
    """One trace line: the monotonic clock and the step (with ``BENCH_TRACE`` only)."""
    if _trace is not None:
        _trace.write(f"{time.perf_counter():.6f} {step}\n")


def _traced() -> None:
    """Wrap the room path's steps: frame in, service done, broadcast sent, each delivery."""
    from groups import consumers, events, room_actions

    receive, perform = consumers.RoomConsumer.receive, room_actions.perform
    room_event, send = consumers.RoomConsumer.room_event, events.room_event_send

    async def traced_receive(self: Any, text_data: Any = None, bytes_data: Any = None) -> None:
        mark("room.in")
        await receive(self, text_data, bytes_data)

    def traced_perform(**kwargs: Any) -> Any:
        mark("room.perform")
        try:
            return perform(**kwargs)
        finally:
            mark("room.performed")

    def traced_send(*, group_id: int, event: dict[str, Any]) -> None:
        mark(f"room.publish.{event.get('type')}")
        send(group_id=group_id, event=event)
        mark(f"room.published.{event.get('type')}")

    async def traced_event(self: Any, message: dict[str, Any]) -> None:
        await room_event(self, message)
        mark(f"room.out.{message['event'].get('type')}")

    from groups.services import queue

    def step(name: str, function: Any) -> Any:
        def traced(**kwargs: Any) -> Any:
            mark(f"room.{name}")
            try:
                return function(**kwargs)
            finally:
                mark(f"room.{name}.done")

        return traced

    queue.entry_vote = step("entry_vote", queue.entry_vote)
    queue.vote_feedback_record = step("feedback", queue.vote_feedback_record)
    consumers.RoomConsumer.receive = traced_receive  # type: ignore[method-assign]
    room_actions.perform = traced_perform
    events.room_event_send = traced_send
    consumers.RoomConsumer.room_event = traced_event  # type: ignore[method-assign]


_gc_began = 0.0


def _gc_mark(phase: str, info: dict[str, Any]) -> None:
    """Trace the garbage collector's pauses over 1 ms (``gc.<generation>``, start and end)."""
    global _gc_began
    if phase == "start":
        _gc_began = time.perf_counter()
    elif time.perf_counter() - _gc_began > 0.001:
        assert _trace is not None
        _trace.write(f"{_gc_began:.6f} gc.{info['generation']}\n")
        _trace.write(f"{time.perf_counter():.6f} gc.{info['generation']}.done\n")


if _trace is not None:
    _traced()
    gc.callbacks.append(_gc_mark)


class EchoConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """A bare Channels room: every frame goes to every socket in the group, unchanged."""

    async def connect(self) -> None:
        self.group = f"echo_{self.scope['url_route']['kwargs']['name']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        mark("echo.in")
        await self.channel_layer.group_send(self.group, {"type": "echo.frame", "frame": content})
        mark("echo.published")

    async def echo_frame(self, message: dict[str, Any]) -> None:
        await self.send_json(message["frame"])
        mark("echo.out")

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # The room socket's encoding (groups/consumers.py), so both send the same bytes' worth.
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter(
                    [*websocket_urlpatterns, path("ws/echo/<str:name>/", EchoConsumer.as_asgi())]
                )
            )
        ),
    }
)

# As audotics/asgi.py does: start-up objects out of the collector's reach.
gc.collect()
gc.freeze()
