"""Run against the real Redis server when REDIS_URL is set (scripts/test sets it if it answers)."""

from __future__ import annotations

import os
import uuid

import pytest
from channels.layers import get_channel_layer
from django.core.cache.backends.redis import RedisCache
from kombu import Connection

from audotics.settings.components.redis import cache_settings, channel_layer_settings

pytestmark = pytest.mark.redis


def _url() -> str:
    return os.environ["REDIS_URL"]


def test_redis_cache_backend_round_trip() -> None:
    config = cache_settings(_url())
    cache = RedisCache(config["LOCATION"], {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})

    cache.set("recs:user:1", [3, 1, 2], timeout=30)

    assert cache.get("recs:user:1") == [3, 1, 2]
    cache.delete("recs:user:1")
    assert cache.get("recs:user:1") is None


async def test_pubsub_channel_layer_delivers_to_a_group(settings: pytest.FixtureRequest) -> None:
    settings.CHANNEL_LAYERS = {"default": channel_layer_settings(_url())}  # type: ignore[attr-defined]
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisPubSubChannelLayer"
    channel = await layer.new_channel()
    group = f"room_{uuid.uuid4().hex}"
    await layer.group_add(group, channel)

    await layer.group_send(group, {"type": "room.update", "queue": [1, 2, 3]})

    assert await layer.receive(channel) == {"type": "room.update", "queue": [1, 2, 3]}
    await layer.group_discard(group, channel)
    await layer.flush()


def test_celery_broker_answers() -> None:
    with Connection(_url(), connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected
