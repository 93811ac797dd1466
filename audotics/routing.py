"""WebSocket routes of every app (rooms arrive with the group-listening issue)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
