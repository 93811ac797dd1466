"""The Audotics project package: settings, ASGI/WSGI entry points, Celery app, shared errors."""

from __future__ import annotations

from audotics.celery import app as celery_app

__all__ = ["celery_app"]
