"""The monitoring settings, each with an embedded default and an environment override.

A ``MONITORING_*`` setting wins when the settings module defines it; otherwise the typed env
helpers read the ``AUDOTICS_*`` variable (a bad value fails with one line naming it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings

from audotics.settings.env import env_int, env_str


def _int(setting: str, env: str, default: int, minimum: int = 0) -> int:
    value = getattr(settings, setting, None)
    if value is None:
        return env_int(env, default, minimum=minimum)
    return int(value)


@cache
def flush_seconds() -> int:
    """Flush pending histograms at most this often; 0 turns automatic flushes off.

    Read on every request (by the flush receiver), so cached; ``settings_changed`` clears it.
    """
    return _int("MONITORING_FLUSH_SECONDS", "AUDOTICS_MONITORING_FLUSH_SECONDS", 10)


@cache
def flush_threshold() -> int:
    """Flush early once this many observations wait (bounds a burst's memory)."""
    return _int("MONITORING_FLUSH_THRESHOLD", "AUDOTICS_MONITORING_FLUSH_THRESHOLD", 20_000, 1)


def settings_changed(*, setting: str, **_: Any) -> None:
    """``setting_changed`` receiver (tests override settings): forget the cached values."""
    if setting.startswith("MONITORING_FLUSH"):
        flush_seconds.cache_clear()
        flush_threshold.cache_clear()


def retention_days() -> int:
    """Minute rows older than this are deleted (at most once an hour, by a flush)."""
    return _int("MONITORING_RETENTION_DAYS", "AUDOTICS_MONITORING_RETENTION_DAYS", 30, 1)


def bias_cache_seconds() -> int:
    return _int("MONITORING_BIAS_CACHE_SECONDS", "AUDOTICS_MONITORING_BIAS_CACHE_SECONDS", 300)


def bias_sample_size() -> int:
    """How many recently active listeners' lists the bias report samples."""
    return _int("MONITORING_BIAS_SAMPLE", "AUDOTICS_MONITORING_BIAS_SAMPLE", 50, 1)


def metrics_token() -> str:
    """The bearer token scrapers send to ``/monitoring/metrics.json`` (empty: staff only)."""
    value = getattr(settings, "MONITORING_METRICS_TOKEN", None)
    if value is None:
        return env_str("AUDOTICS_METRICS_TOKEN")
    return str(value)
