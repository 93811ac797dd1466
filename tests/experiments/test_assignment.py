"""Stable hash assignment: deterministic, proportional to the weights, the same in any process."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from experiments import assignment
from experiments.assignment import arm_index, hash_point

ROOT = Path(__file__).resolve().parents[2]
IDS = range(1, 10_001)


def _assign(salt: str, weights: list[int]) -> list[int]:
    return [arm_index(weights=weights, point=hash_point(salt=salt, user_id=u)) for u in IDS]


def test_points_are_in_the_unit_interval_and_deterministic() -> None:
    points = [hash_point(salt="s", user_id=u) for u in range(1000)]

    assert all(0.0 <= p < 1.0 for p in points)
    assert points == [hash_point(salt="s", user_id=u) for u in range(1000)]


@pytest.mark.parametrize("weights", [[50, 50], [10, 90], [20, 30, 50], [1, 99]])
def test_shares_follow_the_weights_over_10k_listeners(weights: list[int]) -> None:
    counts = Counter(_assign("exp-1", weights))

    for index, weight in enumerate(weights):
        # sd of a share over 10k draws is at most 0.005: 0.02 is four of them
        assert counts[index] / len(IDS) == pytest.approx(weight / 100, abs=0.02)


def test_the_same_in_a_fresh_interpreter_and_after_a_reimport() -> None:
    expected = _assign("exp-2", [30, 70])[:2000]
    code = (
        "import json; from experiments.assignment import arm_index, hash_point; "
        "print(json.dumps([arm_index(weights=[30, 70], point=hash_point(salt='exp-2', "
        "user_id=u)) for u in range(1, 2001)]))"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(out.stdout) == expected
    importlib.reload(assignment)
    again = [
        assignment.arm_index(weights=[30, 70], point=assignment.hash_point(salt="exp-2", user_id=u))
        for u in range(1, 2001)
    ]
    assert again == expected


def test_another_salt_reshuffles_independently() -> None:
    first, second = _assign("a", [50, 50]), _assign("b", [50, 50])

    agreement = sum(x == y for x, y in zip(first, second, strict=True)) / len(IDS)
    assert agreement == pytest.approx(0.5, abs=0.03)


def test_slice_edges() -> None:
    assert arm_index(weights=[50, 50], point=0.0) == 0
    assert arm_index(weights=[50, 50], point=0.4999) == 0
    assert arm_index(weights=[50, 50], point=0.5) == 1
    assert arm_index(weights=[50, 50], point=1 - 2**-53) == 1


@pytest.mark.parametrize("weights", [[], [0, 100], [-1, 101]])
def test_weights_must_be_positive(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        arm_index(weights=weights, point=0.3)
