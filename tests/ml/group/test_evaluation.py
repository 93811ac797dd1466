"""The ``groups`` protocol: harmony metrics on a hand-made example, and its seeded split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml.data.interactions import load, split_users
from ml.group.evaluation import group_metrics, harmony, make_task, member_ndcg

D = 1.0 / np.log2(np.arange(2, 12))  # DCG discounts of positions 1..10


def test_member_ndcg_and_harmony_by_hand() -> None:
    # A list of three items (columns 0, 1, 2) for three members over five items:
    # member 0 holds out items 0 and 1 (hits at positions 1 and 2: a perfect list),
    # member 1 holds out item 2 only (hit at position 3), member 2 holds out item 4 (no hit).
    held_out = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32)
    )
    cols = np.array([0, 1, 2])

    ndcg = member_ndcg(cols, held_out, k=3)
    h = harmony(cols, held_out, k=3)

    np.testing.assert_allclose(ndcg, [1.0, D[2] / D[0], 0.0])
    assert h["member_ndcg_mean"] == pytest.approx((1.0 + D[2]) / 3)
    assert h["member_ndcg_min"] == 0.0
    assert h["member_ndcg_spread"] == pytest.approx(1.0)
    assert h["dominance"] == 1.0  # member 0 holds 2 of the 3 hits


def test_no_dominance_when_hits_are_shared_and_nan_without_hits() -> None:
    held_out = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))

    shared = harmony(np.array([0, 1]), held_out, k=2)
    missed = harmony(np.array([2, -1]), held_out, k=2)

    assert shared["dominance"] == 0.0  # one hit each
    assert np.isnan(missed["dominance"])
    assert missed["member_ndcg_min"] == 0.0


def test_members_without_held_out_items_are_left_out() -> None:
    held_out = sp.csr_matrix(np.array([[1, 0], [0, 0]], dtype=np.float32))

    ndcg = member_ndcg(np.array([0, 1]), held_out, k=2)

    assert ndcg[0] == 1.0 and np.isnan(ndcg[1])
    assert harmony(np.array([0, 1]), held_out, k=2)["member_ndcg_min"] == 1.0


def test_group_metrics_score_against_the_union_of_members_items(lastfm_small: Path) -> None:
    task = make_task(load(lastfm_small), seed=7)
    group = task.test_groups[0]
    rows = task.rows(group)
    union = np.unique(task.held_out[rows].indices)
    # A perfect group list: the members' held-out items first.
    k = 10
    cols = np.full(k, -1)
    cols[: min(k, len(union))] = union[:k]
    lists = np.vstack([cols] + [np.full(k, -1)] * (len(task.test_groups) - 1))

    metrics = group_metrics(lists, task, np.zeros(task.train.n_items), k)

    first = 1.0 / len(task.test_groups)
    assert metrics["ndcg"] == pytest.approx(first)
    assert metrics["hr"] == pytest.approx(first)
    assert set(metrics) >= {"ndcg", "member_ndcg_mean", "member_ndcg_min", "dominance", "gini"}


def test_split_keeps_test_groups_out_of_training_and_their_items_hidden(lastfm_small: Path) -> None:
    data = load(lastfm_small)

    task = make_task(data, seed=7)

    assert task.known and task.test_groups
    assert not {g.members for g in task.train_groups} & {g.members for g in task.test_groups}
    # The held-out items of test members are not in the training matrix.
    train = task.train.matrix.tocsr()
    for k, user in enumerate(task.members.tolist()):
        row = int(np.flatnonzero(task.train.user_ids == user)[0])
        assert not set(task.held_out[k].indices) & set(train[row].indices)


def test_fold_in_task_takes_groups_from_the_test_folder(lastfm_small: Path) -> None:
    data = load(lastfm_small)
    train, test = split_users(data, test_fraction=0.5, seed=2)
    test = test.subset_users(np.arange(test.n_users))

    task = make_task(train, test, seed=7)

    assert not task.known
    assert set(task.members.tolist()) <= set(test.user_ids.tolist())
    assert not set(task.members.tolist()) & set(train.user_ids.tolist())
    assert task.history.shape[1] == train.n_items
