"""Aggregation policies on score matrices whose answers are computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml.group import policies

# Two members, four items. Standardised rows (mean 0, unit variance over the four items):
#   member 0: [ 1.5, 0.5, -0.5, -1.5 ]  (raw 4, 3, 2, 1)
#   member 1: [-1.5, 0.5,  1.5, -0.5 ]  (raw 1, 3, 4, 2)
# average: [0, 0.5, 0.5, -1]  -> item 1 (first of the tie) or 2
# least misery (min): [-1.5, 0.5, -0.5, -1.5] -> item 1 (the max-min item)
# most pleasure (max): [1.5, 0.5, 1.5, -0.5] -> items 0 and 2
SCORES = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 3.0, 4.0, 2.0]])


def test_standardise_gives_zero_mean_unit_variance_rows() -> None:
    z = policies.standardise(SCORES)

    np.testing.assert_allclose(z[0], [1.341641, 0.447214, -0.447214, -1.341641], rtol=1e-5)
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=1), 1.0)


def test_least_misery_picks_the_item_whose_unhappiest_member_is_happiest() -> None:
    ranking = policies.rank(SCORES, "least-misery", 1)

    assert ranking.columns.tolist() == [1]


def test_most_pleasure_picks_an_item_someone_loves() -> None:
    ranking = policies.rank(SCORES, "most-pleasure", 2)

    assert sorted(ranking.columns.tolist()) == [0, 2]


def test_average_and_borda_rank_by_the_mean() -> None:
    average = policies.aggregate(SCORES, "average")
    borda = policies.aggregate(SCORES, "borda")

    np.testing.assert_allclose(average, [0.0, 0.447214, 0.447214, -0.894427], atol=1e-5)
    # Borda points (n_items - rank): member 0 [3, 2, 1, 0], member 1 [0, 2, 3, 1].
    np.testing.assert_allclose(borda, [1.5, 2.0, 2.0, 0.5])
    assert policies.rank(SCORES, "borda", 4).columns.tolist()[-1] == 3


def test_average_without_misery_drops_items_one_member_ranks_low() -> None:
    scores = np.array([[10.0, 9.0, 1.0, 0.0, 0.5], [10.0, 0.0, 9.0, 8.0, 0.2]])
    # At threshold 0.5 an item must be in each member's top half: only item 0 is.
    plain = policies.rank(scores, "average", 2).columns.tolist()
    guarded = policies.rank(scores, "average-without-misery", 2, threshold=0.5).columns.tolist()

    assert plain[0] == 0 and guarded[0] == 0
    assert guarded[1] != 1  # item 1 is member 1's worst: misery, even with a high average
    assert 1 in policies.rank(scores, "average", 3).columns.tolist()


def test_excluded_items_are_never_returned() -> None:
    excluded = np.array([False, True, False, False])

    for name in policies.POLICIES:
        ranking = policies.rank(SCORES, name, 4, excluded=excluded)
        assert 1 not in ranking.columns.tolist()
        assert len(ranking.columns) == 3


def test_fairness_favours_the_member_least_satisfied_so_far() -> None:
    # Member 0 loves items 0-2, member 1 loves items 3-5 and half-likes item 2.
    scores = np.array([[9.0, 8.0, 7.0, 1.0, 1.0, 1.0, 3.0], [1.0, 1.0, 3.0, 6.0, 5.0, 4.0, 3.0]])
    played = [0, 1]  # member 0's favourites already played in the room

    heard = np.isin(np.arange(7), played)

    fair = policies.rank(scores, "fairness", 1, excluded=heard, played=played)
    average = policies.rank(scores, "average", 1, excluded=heard)

    assert average.columns.tolist() == [2]  # member 0 again: item 2 has the best mean
    assert fair.columns.tolist() == [3]  # member 1 is owed: their favourite comes next
    assert fair.satisfaction[0] > 2 * fair.satisfaction[1]


def test_a_rooms_own_ledger_can_replace_the_played_history() -> None:
    scores = np.array([[9.0, 8.0, 1.0, 1.0], [1.0, 1.0, 6.0, 5.0]])

    owed_to_0 = policies.rank(scores, "fairness", 1, satisfaction=[0.0, 5.0]).columns
    owed_to_1 = policies.rank(scores, "fairness", 1, satisfaction=[5.0, 0.0]).columns

    assert owed_to_0.tolist() == [0] and owed_to_1.tolist() == [2]
    with pytest.raises(ValueError, match="one value per member"):
        policies.rank(scores, "fairness", 1, satisfaction=[1.0])


def test_fairness_alternates_within_one_list() -> None:
    scores = np.array([[9.0, 8.0, 7.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 6.0, 5.0, 4.0]])

    cols = policies.rank(scores, "fairness", 4).columns.tolist()

    owners = ["a" if c < 3 else "b" for c in cols]
    assert owners.count("a") == owners.count("b") == 2


def test_member_satisfaction_sums_dcg_gains_of_what_played() -> None:
    satisfaction = policies.member_satisfaction(SCORES, [0, 2])

    # member 0 ranks item 0 first (gain 1) and item 2 third (1/log2 4 = 0.5);
    # member 1 ranks item 2 first (gain 1) and item 0 last, fourth (1/log2 5).
    np.testing.assert_allclose(satisfaction, [1.5, 1.0 + 1.0 / np.log2(5)])


def test_policy_names_accept_underscores_and_reject_unknown_names() -> None:
    assert policies.policy_name("Least_Misery") == "least-misery"
    with pytest.raises(ValueError, match="unknown policy 'dictator'"):
        policies.policy_name("dictator")
    with pytest.raises(ValueError, match="n must be at least 1"):
        policies.rank(SCORES, "average", 0)
