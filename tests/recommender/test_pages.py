from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ArtistPlayCountFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_loaded_catalogue(client: Client) -> None:
    TrackFactory.create_batch(1234 // 100)
    ArtistPlayCountFactory()

    response = client.get("/")

    assert response.status_code == 200
    assert response.context["counts"].tracks == 12
    assert b"load_demo_data" not in response.content


def test_home_page_tells_the_operator_how_to_load_data_when_empty(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert b"load_demo_data" in response.content


def test_healthz_reports_the_database(client: Client) -> None:
    response = client.get("/healthz")

    assert response.json()["status"] == "ok"
