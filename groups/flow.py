"""Autofill that flows: each next track suits the room and follows the one before it.

The distance between two tracks mixes tempo (half and double time count as close), energy and
key (steps on the Camelot wheel, where neighbours mix well); tracks without audio features are
neither rewarded nor penalised. A greedy chain takes, at each step, the candidate with the best
``standardised group score - FLOW_WEIGHT * distance`` to the previous track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recommender.models import AudioFeatures, Track

FLOW_WEIGHT = 0.5
#: a typical distance, used where a track has no audio features
NEUTRAL = 1.0

# Camelot position (1-12) of each pitch class, major and minor.
_CAMELOT_MAJOR = [8, 3, 10, 5, 12, 7, 2, 9, 4, 11, 6, 1]
_CAMELOT_MINOR = [5, 12, 7, 2, 9, 4, 11, 6, 1, 8, 3, 10]


def _camelot(key: int, mode: int | None) -> tuple[int, int] | None:
    if not 0 <= key <= 11:
        return None
    minor = mode == 0
    return (_CAMELOT_MINOR if minor else _CAMELOT_MAJOR)[key], int(minor)


def key_steps(a: tuple[int, int] | None, b: tuple[int, int] | None) -> float:
    """Steps between two Camelot keys: around the wheel, plus one to switch major/minor."""
    if a is None or b is None:
        return 2.0
    around = abs(a[0] - b[0]) % 12
    return float(min(around, 12 - around) + (a[1] != b[1]))


def tempo_gap(a: float, b: float) -> float:
    """Relative tempo difference, where half and double time are as close as the same tempo."""
    if a <= 0 or b <= 0:
        return 0.1
    return float(min(abs(np.log2(a / b) - shift) for shift in (-1.0, 0.0, 1.0)))


def distance(a: AudioFeatures | None, b: AudioFeatures | None) -> float:
    if a is None or b is None:
        return NEUTRAL
    return (
        tempo_gap(a.tempo, b.tempo) / 0.1  # 7 % tempo change = 1
        + abs(a.energy - b.energy) / 0.2
        + key_steps(_camelot(a.key, a.mode), _camelot(b.key, b.mode)) / 2.0
    ) / 3.0


def flow_order(
    candidates: Sequence[dict[str, Any]],
    *,
    start_track_id: int | None,
    n: int,
    tracks: Mapping[str, Track],
) -> list[dict[str, Any]]:
    """Up to ``n`` candidates (``spotify_id``, ``score``) chained from ``start_track_id``."""
    if not candidates or n <= 0:
        return []
    ids = [tracks[c["spotify_id"]].pk for c in candidates]
    features = {
        f.track_id: f for f in AudioFeatures.objects.filter(track_id__in=[*ids, start_track_id])
    }
    scores = np.array([float(c["score"]) for c in candidates])
    z = (scores - scores.mean()) / (scores.std() or 1.0)
    previous = features.get(start_track_id) if start_track_id is not None else None
    left = list(range(len(candidates)))
    chosen: list[dict[str, Any]] = []
    while left and len(chosen) < n:
        best = max(
            left, key=lambda k: z[k] - FLOW_WEIGHT * distance(previous, features.get(ids[k]))
        )
        left.remove(best)
        chosen.append(candidates[best])
        previous = features.get(ids[best])
    return chosen
