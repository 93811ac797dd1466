"""Shared pagination for list endpoints."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 25
    max_limit = 200
