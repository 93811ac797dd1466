"""Test settings: speed-only overrides on top of base (the same backends otherwise)."""

from __future__ import annotations

from audotics.settings.base import *  # noqa: F403
from audotics.settings.base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The whole suite sees the same cache backend; Redis-specific tests build their own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": None}  # in-memory test database
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Deterministic serving: no exploratory blend weights in tests.
HYBRID_BANDIT_EXPLORE = 0.0
# Monitoring writes its latency histograms only when a test flushes them (no flush landing in
# the middle of another test's query counts).
MONITORING_FLUSH_SECONDS = 0
