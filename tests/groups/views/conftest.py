"""Room pages over the small fixture catalogue with tiny trained models (the rooms fixtures)."""

from __future__ import annotations

from tests.groups.rooms.conftest import (  # noqa: F401 (fixtures)
    _fresh_serving_caches,
    _trained_store,
    demo_data,
    hybrid_and_group,
    listeners,
    live_room,
)
