"""The latency floor endpoint and the per-user request budget."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle


def test_ping_needs_auth_and_answers_ok(api_client: APIClient, anonymous_client: APIClient) -> None:
    assert api_client.get("/api/v1/ping").json() == {"ok": True}
    assert anonymous_client.get("/api/v1/ping").status_code in (401, 403)


def test_over_the_budget_answers_429_in_the_error_shape(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": None})

    codes = [api_client.get("/api/v1/ping").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    body = api_client.get("/api/v1/ping").json()
    assert body["code"] == "throttled"
    assert body["message"]
