"""``/monitoring/metrics.json``: staff or the scrape token; the dashboard's data as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from monitoring.timing import observe
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/monitoring/metrics.json"
TOKEN = "s3cret-scrape-token"


@pytest.fixture
def token(settings: Any) -> str:
    settings.MONITORING_METRICS_TOKEN = TOKEN
    return TOKEN


def test_staff_get_every_section(admin_client: Client) -> None:
    admin_client.get("/healthz")
    observe("recs.update", 0.02)

    response = admin_client.get(URL)

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "generated_at", "days", "hours", "request_latency", "recommendation_updates", "models",
        "business", "bias",
    }  # fmt: skip
    assert (data["days"], data["hours"]) == (14, 24)
    routes = {e["route"] for e in data["request_latency"]["endpoints"]}
    assert "/healthz" in routes
    assert set(data["request_latency"]["overall"]) == {
        "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
    }  # fmt: skip
    observed = data["recommendation_updates"]["observed"]
    assert [(t["name"], t["count"]) for t in observed] == [("recs.update", 1)]
    assert len(data["business"]["days"]) == 14
    for metric in data["business"]["metrics"].values():
        assert metric["definition"] and len(metric["values"]) == 14
    assert data["bias"]["status"] == "not_trained"
    assert "not trained" in data["bias"]["message"]


def test_the_token_lets_a_scraper_in(client: Client, token: str) -> None:
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert "request_latency" in response.json()


@pytest.mark.parametrize("header", ["Bearer wrong", "Token s3cret-scrape-token", ""])
def test_a_wrong_token_is_refused(client: Client, token: str, header: str) -> None:
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_without_a_configured_token_no_bearer_gets_in(client: Client, settings: Any) -> None:
    settings.MONITORING_METRICS_TOKEN = ""
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_anonymous_is_refused_with_the_error_shape(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "extra"}


def test_a_signed_in_listener_who_is_not_staff_is_refused(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("query", "field"),
    [("days=0", "days"), ("days=abc", "days"), ("days=91", "days"), ("hours=0", "hours"),
     ("days=7&days=8", "days"), ("days=", "days")],
)  # fmt: skip
def test_a_bad_window_is_a_field_error(admin_client: Client, query: str, field: str) -> None:
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == [field]


def test_the_window_can_be_chosen(admin_client: Client) -> None:
    data = admin_client.get(f"{URL}?days=7&hours=6").json()
    assert (data["days"], data["hours"], len(data["business"]["days"])) == (7, 6, 7)
    assert data["request_latency"]["hours"] == 6
