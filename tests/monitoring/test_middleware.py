"""The timing middleware keys requests by URL route, method and status class, in memory."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from monitoring.middleware import STATIC, UNMATCHED
from monitoring.models import LatencyMinute
from monitoring.recorder import RECORDER, REQUEST
from monitoring.services.latency import latency_flush
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


def _recorded() -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for (_, kind, name, method, status), pending in RECORDER.drain().items():
        if kind == REQUEST:
            found[name, method, status] = found.get((name, method, status), 0) + pending.n
    return found


def test_requests_are_keyed_by_route_never_by_path(api_client: Any) -> None:
    track = TrackFactory()
    api_client.get(f"/api/v1/tracks/{track.spotify_id}")
    api_client.get("/api/v1/tracks/NOPE")
    api_client.get("/api/v1/tracks/NOPE")
    Client().get("/healthz")

    recorded = _recorded()

    route = "/api/v1/tracks/<str:spotify_id>"
    assert recorded[route, "GET", "2xx"] == 1
    assert recorded[route, "GET", "4xx"] == 2
    assert recorded["/healthz", "GET", "2xx"] == 1
    assert not any(track.spotify_id in name or "NOPE" in name for name, _, _ in recorded)


def test_unrouted_and_static_requests_get_fixed_labels(client: Client) -> None:
    client.get("/no/such/page/123")
    client.get("/static/css/app.css")
    recorded = _recorded()
    assert (UNMATCHED, "GET", "4xx") in recorded
    assert any(name == STATIC for name, _, _ in recorded)


def test_the_root_route_is_a_slash(client: Client) -> None:
    client.get("/")
    assert any(name == "/" for name, _, _ in _recorded())


def test_a_request_writes_nothing_to_the_database(client: Client) -> None:
    client.get("/healthz")  # warm up
    with CaptureQueriesContext(connection) as queries:
        client.get("/healthz")
    assert not [q for q in queries.captured_queries if "monitoring" in q["sql"]]
    assert RECORDER.observations == 2


def test_recorded_requests_reach_the_minute_rows(api_client: Any) -> None:
    for _ in range(3):
        api_client.get("/api/v1/me")
    assert latency_flush() == 3
    row = LatencyMinute.objects.get(name="/api/v1/me")
    assert (row.kind, row.method, row.status, row.n, sum(row.counts)) == (
        "request", "GET", "2xx", 3, 3,
    )  # fmt: skip
    assert row.minute.second == 0 and row.total_seconds > 0
