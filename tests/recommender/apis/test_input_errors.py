"""Regressions found by the schema fuzzer (tests/audotics/test_api_schema_fuzz.py): invalid input
is a 400 with readable field errors, and the schema tells the truth about the track list."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import GenreFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_a_blank_list_item_is_a_readable_field_error(api_client: APIClient) -> None:
    GenreFactory(name="rock")
    for fmt in ("json", "multipart"):
        response = api_client.post(
            "/api/v1/preferences/update", {"seed_genres": ["rock", ""]}, format=fmt
        )
        assert response.status_code == 400, fmt
        body = response.json()
        assert body["code"] == "validation_error"
        # was ["{1: [ErrorDetail(string='This field may not be blank.', code='blank')]}"]
        assert body["fields"] == {"seed_genres": ["1: This field may not be blank."]}, fmt


@pytest.mark.parametrize(
    "query",
    [
        {"limit": ""},
        {"limit": "abc"},
        {"limit": "0"},
        {"limit": "201"},
        {"offset": "-1"},
        {"offset": ""},
        {"limit": ["5", "6"]},
        {"mood": ["happy", "sad"]},
    ],
    ids=str,
)
def test_bad_track_list_parameters_are_field_errors(
    api_client: APIClient, query: dict[str, Any]
) -> None:
    TrackFactory()
    response = api_client.get("/api/v1/tracks", query)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) == set(query)


def test_blank_filters_mean_no_filter_and_paging_works(api_client: APIClient) -> None:
    TrackFactory.create_batch(3)
    response = api_client.get("/api/v1/tracks", {"genre": "", "mood": "", "q": ""})
    assert response.status_code == 200 and response.json()["count"] == 3
    page = api_client.get("/api/v1/tracks", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["previous"]


@pytest.mark.parametrize(
    "query", [{"n": ""}, {"exclude_same_artist": ""}, {"n": ["3", "4"]}], ids=str
)
def test_bad_similar_parameters_are_field_errors(
    api_client: APIClient, query: dict[str, Any]
) -> None:
    track = TrackFactory()
    response = api_client.get(f"/api/v1/tracks/{track.spotify_id}/similar", query)
    assert response.status_code == 400, response.json()
    assert set(response.json()["fields"]) == set(query)


def test_the_schema_documents_the_paged_track_list(anonymous_client: APIClient) -> None:
    schema = anonymous_client.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/tracks"]["get"]
    assert {"limit", "offset", "q", "genre", "mood"} <= {p["name"] for p in operation["parameters"]}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(envelope["properties"]) == {"count", "next", "previous", "results"}
