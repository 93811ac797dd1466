from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import ArtistPlayCountFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_summary_counts_the_catalogue(anonymous_client: APIClient) -> None:
    TrackFactory.create_batch(3)
    ArtistPlayCountFactory(play_count=7)

    response = anonymous_client.get("/api/v1/catalogue/summary")

    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["tracks"] == 3
    assert body["artist_plays"] == 1
    assert body["total_play_count"] == 7


def test_openapi_schema_and_swagger_page_are_served(anonymous_client: APIClient) -> None:
    schema = anonymous_client.get("/api/v1/schema/")
    docs = anonymous_client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/catalogue/summary" in schema.content
    assert docs.status_code == 200


def test_unknown_endpoint_is_a_404(anonymous_client: APIClient) -> None:
    assert anonymous_client.get("/api/v1/nope").status_code == 404


def test_the_openapi_schema_is_valid_and_has_no_warnings(tmp_path: Any) -> None:
    from django.core.management import call_command

    # drf-spectacular warns (e.g. two components with one name) and --fail-on-warn raises
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "/api/v1/feedback" in (tmp_path / "s.yml").read_text()
