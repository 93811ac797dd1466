"""Django REST framework and its OpenAPI schema."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from audotics.settings.env import env_str

_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _rate(name: str, default: str) -> str:
    value = env_str(name) or default
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name}={value!r}: expected N/second|minute|hour|day")
    return value


REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "audotics.api.exception_handler.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "audotics.api.pagination.Pagination",
    "PAGE_SIZE": 25,
    # Per-user and per-address request budgets, kept in the cache (Redis in services mode).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _rate("API_THROTTLE_ANON", "60/minute"),
        "user": _rate("API_THROTTLE_USER", "600/minute"),
    },
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Audotics API",
    "DESCRIPTION": "Music recommendations for individuals and for groups listening together.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}
