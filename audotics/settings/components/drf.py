"""Django REST framework and its OpenAPI schema."""

from __future__ import annotations

from typing import Any

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
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Audotics API",
    "DESCRIPTION": "Music recommendations for individuals and for groups listening together.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}
