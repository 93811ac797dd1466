"""Cache and channel layer: in-process on the embedded default, Redis when REDIS_URL is set."""

from __future__ import annotations

from typing import Any


def cache_settings(redis_url: str | None) -> dict[str, Any]:
    if redis_url is None:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "audotics"}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": "audotics",
        "TIMEOUT": 300,
    }


def channel_layer_settings(redis_url: str | None) -> dict[str, Any]:
    if redis_url is None:
        # One process only: fine for the embedded default and tests, not for several workers.
        # Its default capacity (100 messages per socket) dropped half of a burst of 200 votes
        # to a room of 50 (bench/room_fanout.py); 1,000 lost none.
        return {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    # Pub/sub layer: in a burst of 200 votes the core RedisChannelLayer timed out here while
    # this one lost nothing (NOTES.md).
    return {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url], "prefix": "audotics"},
    }
