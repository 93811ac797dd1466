"""GET /api/v1/recommendations/user and how feedback changes it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from recommender.models import BanditState, CurationRule, Track, User

URL = "/api/v1/recommendations/user"


def _ids(response: Any) -> list[str]:
    return [r["track"]["spotify_id"] for r in response.json()["results"]]


def test_needs_a_signed_in_user(anonymous_client: APIClient) -> None:
    assert anonymous_client.get(URL).status_code in (401, 403)


def test_before_training_answers_503_model_not_ready(
    listener_client: APIClient, settings: Any, tmp_path: Path
) -> None:
    settings.ML_STORE_DIR = tmp_path / "empty-store"

    response = listener_client.get(URL)

    assert response.status_code == 503
    assert response.json()["code"] == "model_not_ready"


@pytest.mark.parametrize("n", ["0", "51", "ten"])
def test_bad_n_is_a_field_error(listener_client: APIClient, n: str) -> None:
    response = listener_client.get(URL, {"n": n})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "n" in body["fields"]


def test_tracks_with_parts_confidence_and_reasons(hybrid: None, listener_client: APIClient) -> None:
    response = listener_client.get(URL, {"n": 5})

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 5
    assert len(set(_ids(response))) == 5
    first = body["results"][0]
    assert sum(first["parts"].values()) == pytest.approx(first["score"], abs=1e-3)
    assert set(first["models"]) == {"user", "content", "group"}
    assert 0.0 <= first["confidence"] <= 1.0
    assert first["explanation"]
    assert body["model_versions"] == {"hybrid": "0001"}
    assert body["context"]["history"] > 0 and body["context"]["bucket"]
    assert sum(body["context"]["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert body["cached"] is False


def test_second_request_is_cached_until_feedback(hybrid: None, listener_client: APIClient) -> None:
    first = listener_client.get(URL, {"n": 5})
    second = listener_client.get(URL, {"n": 5})

    assert second.json()["cached"] is True
    assert _ids(second) == _ids(first)
    listener_client.post("/api/v1/feedback", {"track": _ids(first)[0], "kind": "skip"})
    third = listener_client.get(URL, {"n": 5})
    assert third.json()["cached"] is False
    assert third.json()["generation"] > first.json()["generation"]


def test_a_process_answers_from_its_copy_until_the_generation_moves(
    hybrid: None, listener_client: APIClient, listener: User
) -> None:
    from django.core.cache import cache

    from recommender.serving.state import listener_generation_bump

    first = listener_client.get(URL, {"n": 5}).json()
    cache.delete(f"recs:user:{listener.pk}:5")
    kept = listener_client.get(URL, {"n": 5}).json()  # no shared-cache entry left to read

    assert kept["cached"] is True and kept["generation"] == first["generation"]
    listener_generation_bump(user_id=listener.pk)  # as another process does: cache, then column
    after = listener_client.get(URL, {"n": 5}).json()
    assert after["cached"] is False and after["generation"] > first["generation"]


@pytest.mark.parametrize("kind", ["skip", "like", "dislike"])
def test_feedback_changes_the_next_response(
    hybrid: None, listener_client: APIClient, kind: str
) -> None:
    before = _ids(listener_client.get(URL, {"n": 5}))
    top = before[0]

    start = time.perf_counter()
    posted = listener_client.post("/api/v1/feedback", {"track": top, "kind": kind})
    after = listener_client.get(URL, {"n": 5})
    elapsed = time.perf_counter() - start

    assert posted.status_code == 201
    assert top not in _ids(after)
    assert _ids(after) != before
    assert elapsed < 1.0  # the benchmark measures the real figure (bench/api_latency.py)


def test_feedback_moves_the_online_weights(hybrid: None, listener_client: APIClient) -> None:
    top = _ids(listener_client.get(URL, {"n": 5}))[0]

    listener_client.post("/api/v1/feedback", {"track": top, "kind": "like"})
    listener_client.post("/api/v1/feedback", {"track": top, "kind": "play"})

    state = BanditState.objects.get(model_version="0001")
    assert state.updates == 2
    assert state.state["weights"]  # the bucket of this request now has its own weights


def test_dislike_leaves_the_artist_out(hybrid: None, listener_client: APIClient) -> None:
    top = _ids(listener_client.get(URL, {"n": 10}))[0]
    artist = Track.objects.get(spotify_id=top).artist.name

    listener_client.post("/api/v1/feedback", {"track": top, "kind": "dislike"})

    after = listener_client.get(URL, {"n": 10}).json()["results"]
    assert artist not in [r["track"]["artist"] for r in after]


def test_curation_block_and_pin_apply_at_once(
    hybrid: None, listener_client: APIClient, listener: User
) -> None:
    before = _ids(listener_client.get(URL, {"n": 5}))
    blocked = Track.objects.get(spotify_id=before[0])
    pinned = Track.objects.exclude(spotify_id__in=before).order_by("pk").first()
    assert pinned is not None

    CurationRule.objects.create(action="block", artist=blocked.artist)
    CurationRule.objects.create(action="pin", track=pinned)

    after = listener_client.get(URL, {"n": 5}).json()["results"]
    assert after[0]["track"]["spotify_id"] == pinned.spotify_id
    assert after[0]["curation"] == "pinned"
    assert blocked.artist.name not in [r["track"]["artist"] for r in after]
    assert len(after) == 5


def test_a_listener_without_history_gets_popular_tracks(
    hybrid: None, user: User, api_client: APIClient
) -> None:
    response = api_client.get(URL, {"n": 3})

    body = response.json()
    assert response.status_code == 200
    assert len(body["results"]) == 3
    assert body["context"]["cold_start"] is True
