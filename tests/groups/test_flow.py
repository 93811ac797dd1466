"""Autofill flow: Camelot key steps, half/double tempo, and the greedy chain."""

from __future__ import annotations

from typing import Any

import pytest

from groups.flow import flow_order, key_steps, tempo_gap
from recommender.models import Track
from tests.factories import TrackFactory


def test_camelot_neighbours_are_close() -> None:
    assert key_steps((8, 0), (8, 0)) == 0  # C major
    assert key_steps((8, 0), (9, 0)) == 1  # C -> G major
    assert key_steps((8, 0), (8, 1)) == 1  # C major -> A minor (relative)
    assert key_steps((1, 0), (12, 0)) == 1  # around the wheel
    assert key_steps((8, 0), (2, 0)) == 6


def test_half_and_double_time_count_as_the_same_tempo() -> None:
    assert tempo_gap(120, 60) == pytest.approx(0.0)
    assert tempo_gap(120, 240) == pytest.approx(0.0)
    assert tempo_gap(120, 126) < tempo_gap(120, 150)


def _track(tempo: float, energy: float, key: int) -> Track:
    track: Track = TrackFactory(
        features__tempo=tempo, features__energy=energy, features__key=key, features__mode=1
    )
    return track


@pytest.mark.django_db
def test_equal_scores_chain_by_closeness_to_the_previous_track() -> None:
    start = _track(120, 0.8, 0)
    near = _track(122, 0.78, 0)
    far = _track(80, 0.2, 6)
    middle = _track(100, 0.5, 7)
    tracks = {t.spotify_id: t for t in (near, far, middle)}
    candidates: list[dict[str, Any]] = [
        {"spotify_id": t.spotify_id, "score": 1.0} for t in (far, middle, near)
    ]

    chosen = flow_order(candidates, start_track_id=start.pk, n=3, tracks=tracks)

    assert [c["spotify_id"] for c in chosen] == [near.spotify_id, middle.spotify_id, far.spotify_id]


@pytest.mark.django_db
def test_a_much_better_score_outweighs_the_flow() -> None:
    start = _track(120, 0.8, 0)
    near, far = _track(121, 0.8, 0), _track(70, 0.1, 6)
    tracks = {t.spotify_id: t for t in (near, far)}
    candidates = [
        {"spotify_id": near.spotify_id, "score": 0.0},
        {"spotify_id": far.spotify_id, "score": 10.0},
    ]

    chosen = flow_order(candidates, start_track_id=start.pk, n=1, tracks=tracks)

    assert chosen[0]["spotify_id"] == far.spotify_id
