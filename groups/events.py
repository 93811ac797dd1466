"""Room events over the channel layer: write first, broadcast after commit (STYLE rule 5).

A room is the Channels group ``room_<id>``; only open sockets of members are in it. Events are
JSON frames (``groups.payloads``) wrapped as ``{"type": "room.event", "event": frame}``.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from monitoring.timing import timed


def room_group_name(group_id: int) -> str:
    return f"room_{group_id}"


#: one frame handed to the channel layer for every socket of a room
BROADCAST = "room.broadcast"


def room_event_send(*, group_id: int, event: dict[str, Any]) -> None:
    """Send one frame to every member socket of the room (from synchronous code)."""
    layer = get_channel_layer()
    if layer is None:
        return
    with timed(BROADCAST):
        async_to_sync(layer.group_send)(
            room_group_name(group_id), {"type": "room.event", "event": event}
        )


def room_event_send_on_commit(*, group_id: int, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: room_event_send(group_id=group_id, event=event))


def room_changed(*, group_id: int, recompute: bool = False) -> None:
    """Push the room's whole state (after recomputing its upcoming queue, if asked)."""
    from groups.room_state import room_state
    from groups.services.queue import queue_refresh_by_id

    if recompute:
        queue_refresh_by_id(group_id=group_id)
    state = room_state(group_id=group_id)
    if state is not None:
        room_event_send(group_id=group_id, event={"type": "state", "room": state})


def room_changed_on_commit(*, group_id: int, recompute: bool = False) -> None:
    transaction.on_commit(lambda: room_changed(group_id=group_id, recompute=recompute))
