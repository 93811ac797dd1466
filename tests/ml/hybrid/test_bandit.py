"""The online blend-weight bandit: moves toward rewarded members, stays in bounds, rolls back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.hybrid.bandit import BlendBandit, bucket_key

MEMBERS = ["ncf", "ease", "als"]
PRIOR = {"h>30": [0.4, 0.3, 0.3]}


def make() -> BlendBandit:
    return BlendBandit(MEMBERS, PRIOR, min_weight=0.05, max_weight=0.7, learning_rate=0.2)


def test_rewards_for_one_member_raise_its_weight_within_bounds() -> None:
    bandit = make()
    before = bandit.weights("h>30")["als"]

    for _ in range(200):
        bandit.update("h>30", {"ncf": 0.0, "ease": 0.1, "als": 2.0}, reward=1.0)

    after = bandit.weights("h>30")
    assert after["als"] > before
    assert after["als"] == pytest.approx(0.7)  # capped by the guard
    assert sum(after.values()) == pytest.approx(1.0)


def test_a_bad_streak_cannot_push_weights_out_of_bounds() -> None:
    bandit = make()
    rng = np.random.default_rng(0)

    for _ in range(500):
        parts = dict(zip(MEMBERS, (rng.standard_normal(3) * 50).tolist(), strict=True))
        bandit.update("h>30", parts, reward=float(rng.integers(2)))
        w = np.array(list(bandit.weights("h>30").values()))
        assert (w >= 0.05 - 1e-9).all() and (w <= 0.7 + 1e-9).all()
        assert w.sum() == pytest.approx(1.0)


def test_restore_returns_exactly_the_snapshot_and_reset_the_prior() -> None:
    bandit = make()
    bandit.update("h>30", {"ncf": 1.0, "ease": 0.0, "als": 0.0}, reward=1.0)
    snap = bandit.snapshot()
    samples = [bandit.sample("h>30") for _ in range(5)]

    bandit.update("h>30", {"ncf": 0.0, "ease": 3.0, "als": 0.0}, reward=1.0)
    bandit.restore(snap)

    assert bandit.snapshot() == snap
    assert [bandit.sample("h>30") for _ in range(5)] == samples  # the RNG is restored too
    bandit.reset()
    assert list(bandit.weights("h>30").values()) == pytest.approx(PRIOR["h>30"])


def test_state_round_trips_through_json_and_is_seeded() -> None:
    bandit = BlendBandit(MEMBERS, PRIOR, explore=1.0, seed=3)
    bandit.update(bucket_key("h>30", group_size=4), {"ncf": 1.0}, reward=0.0)

    copy = BlendBandit.from_json(bandit.to_json())

    assert json.loads(copy.to_json()) == json.loads(bandit.to_json())
    assert copy.sample("h>30") == bandit.sample("h>30")
    assert BlendBandit(MEMBERS, PRIOR, explore=1.0, seed=3).sample("h>30") == BlendBandit(
        MEMBERS, PRIOR, explore=1.0, seed=3
    ).sample("h>30")
    assert copy.updates("h>30|group") == 1


def test_invalid_bounds_and_rewards_raise() -> None:
    with pytest.raises(ValueError):
        BlendBandit(MEMBERS, PRIOR, min_weight=0.4)
    with pytest.raises(ValueError):
        make().update("h>30", {"ncf": 1.0}, reward=2.0)
