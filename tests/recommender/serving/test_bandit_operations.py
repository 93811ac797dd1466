"""Operators snapshot, reset and roll back the online weights; the next request uses them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from recommender.models import BanditSnapshot, BanditState

URL = "/api/v1/recommendations/user"


def _weights(client: APIClient) -> dict[str, float]:
    body = client.get(URL, {"n": 3}).json()
    return body["context"]["weights"]  # type: ignore[no-any-return]


def test_snapshot_reset_and_restore(hybrid: None, listener_client: APIClient) -> None:
    offline = _weights(listener_client)
    top = listener_client.get(URL, {"n": 3}).json()["results"][0]["track"]["spotify_id"]
    for kind in ("like", "play", "play"):
        listener_client.post("/api/v1/feedback", {"track": top, "kind": kind})
    learned = _weights(listener_client)
    assert learned != offline
    assert all(0.02 - 1e-6 <= w <= 0.8 + 1e-6 for w in learned.values())  # the guard

    call_command("bandit", "snapshot")
    snapshot = BanditSnapshot.objects.get()
    call_command("bandit", "reset")
    assert not BanditState.objects.exists()
    listener_client.post("/api/v1/feedback", {"track": top, "kind": "skip"})  # new generation
    assert _weights(listener_client) != learned

    call_command("bandit", "restore", "--to", str(snapshot.pk))
    listener_client.post("/api/v1/feedback", {"track": top, "kind": "play"})
    restored = BanditState.objects.get()
    assert restored.updates >= 1


def test_restore_of_an_unknown_snapshot_fails_in_one_line(db: None) -> None:
    with pytest.raises(CommandError, match="no bandit snapshot 99"):
        call_command("bandit", "restore", "--to", "99")
    with pytest.raises(CommandError, match="restore needs --to"):
        call_command("bandit", "restore")
