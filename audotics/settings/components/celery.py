"""Celery: tasks run eagerly in-process on the embedded default, on a broker otherwise."""

from __future__ import annotations

from typing import Any


def celery_settings(broker_url: str | None, *, force_eager: bool) -> dict[str, Any]:
    eager = force_eager or broker_url is None
    return {
        "CELERY_BROKER_URL": broker_url or "memory://",
        "CELERY_RESULT_BACKEND": None,
        "CELERY_TASK_ALWAYS_EAGER": eager,
        "CELERY_TASK_EAGER_PROPAGATES": eager,
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        "CELERY_TASK_SERIALIZER": "json",
        "CELERY_ACCEPT_CONTENT": ["json"],
        "CELERY_TIMEZONE": "UTC",
        "CELERY_BEAT_SCHEDULER": "django_celery_beat.schedulers:DatabaseScheduler",
    }
