"""Request latency per endpoint, kept in this process's memory (no I/O per request).

Put it first in ``MIDDLEWARE`` so it times everything the other middleware does too. Each
request is keyed by its URL *route* (``api/v1/tracks/<str:spotify_id>``, never the path with
ids in it), its method and its status class; unrouted requests count as ``(static)`` (under
``STATIC_URL``) or ``(unmatched)``. It serves sync (gunicorn) and async (uvicorn) stacks
without a thread switch of its own.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from monitoring.recorder import RECORDER, REQUEST
from monitoring.services.latency import latency_database_note

STATIC = "(static)"
UNMATCHED = "(unmatched)"
STATUS_CLASSES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")
Handler = Callable[[HttpRequest], Any]


def route_of(request: HttpRequest, static_prefix: str) -> str:
    """The request's URL pattern, or a fixed label when no pattern matched."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return "/" + (match.route or "")
    return STATIC if static_prefix and request.path.startswith(static_prefix) else UNMATCHED


def status_class(status: int) -> str:
    return STATUS_CLASSES[status // 100] if 100 <= status < 600 else "5xx"


class RequestTimingMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.static_prefix = str(getattr(settings, "STATIC_URL", "") or "")
        if not self.static_prefix.startswith("/"):
            self.static_prefix = "/" + self.static_prefix if self.static_prefix else ""
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        latency_database_note()  # once per handler: the exit flush writes only to this database

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        start = time.perf_counter()
        response: HttpResponseBase = self.get_response(request)
        self._record(request, response, time.perf_counter() - start)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        start = time.perf_counter()
        awaitable: Awaitable[HttpResponseBase] = self.get_response(request)
        response = await awaitable
        self._record(request, response, time.perf_counter() - start)
        return response

    def _record(self, request: HttpRequest, response: HttpResponseBase, seconds: float) -> None:
        RECORDER.record(
            REQUEST,
            route_of(request, self.static_prefix),
            request.method or "",
            status_class(response.status_code),
            seconds,
        )
