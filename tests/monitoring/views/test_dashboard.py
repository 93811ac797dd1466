"""The staff dashboard page: charts drawn server-side, admin sign-in for everyone else."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from monitoring.timing import observe
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/monitoring/"


def test_staff_see_every_section_with_charts(admin_client: Client) -> None:
    for _ in range(3):
        admin_client.get("/healthz")
        admin_client.get("/api/v1/ping")
    observe("recs.update", 0.015)

    response = admin_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    for section in ("latency", "updates", "models", "business", "bias"):
        assert f'id="{section}"' in html
    assert html.count("<svg") >= 3
    assert len(re.findall(r'class="chart__point', html)) > 0
    assert len(re.findall(r'class="chart__bar"', html)) > 0
    assert "/api/v1/ping" in html and "recs.update" in html
    assert "the hybrid model is not trained yet" in html.lower()
    assert "No model versions yet" in html


def test_an_empty_window_shows_empty_states(admin_client: Client) -> None:
    html = admin_client.get(URL + "?hours=1&days=7").content.decode()
    assert "No activity in this window yet." in html
    assert "No retrain runs in this window." in html


def test_a_listener_is_sent_to_the_admin_sign_in(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/monitoring/")


def test_anonymous_is_sent_to_the_admin_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_bad_window_is_a_400_page_with_the_field_error(admin_client: Client) -> None:
    response = admin_client.get(URL + "?days=500")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and "days" in html
    assert "Ensure this value is less than or equal to 90." in html
