"""WebSocket routes of every app."""

from __future__ import annotations

from typing import Any

from groups.routing import websocket_urlpatterns as rooms

websocket_urlpatterns: list[Any] = [*rooms]
