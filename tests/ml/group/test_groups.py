"""Real groups from a friend graph: cliques are cliques, test groups are never training groups."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from ml.data.interactions import load
from ml.group.groups import (
    friend_graph,
    friend_groups,
    maximal_cliques,
    random_groups,
    sample_groups,
    split_groups,
)

# A 4-clique {1,2,3,4}, a triangle {4,5,6} sharing user 4, a pendant pair 6-7, a path 7-8-9,
# and user 10 who has no listening data (so never in a group).
EDGES = [
    (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4),
    (4, 5), (4, 6), (5, 6),
    (6, 7),
    (7, 8), (8, 9),
    (9, 10),
]  # fmt: skip
USERS = list(range(1, 10))


def _is_clique(members: tuple[int, ...], edges: set[frozenset[int]]) -> bool:
    return all(frozenset(pair) in edges for pair in combinations(members, 2))


def test_maximal_cliques_match_a_brute_force_search() -> None:
    graph = friend_graph(np.array(EDGES), USERS)

    found = {tuple(sorted(c)) for c in maximal_cliques(graph)}

    assert found == {(1, 2, 3, 4), (4, 5, 6), (6, 7), (7, 8), (8, 9)}


def test_every_group_is_real_and_of_size_2_to_8() -> None:
    edges = {frozenset(e) for e in EDGES}
    graph = friend_graph(np.array(EDGES), USERS)

    groups = friend_groups(np.array(EDGES), USERS, seed=3)

    assert groups and len({g.members for g in groups}) == len(groups)
    for group in groups:
        assert 2 <= len(group) <= 8
        assert set(group.members) <= set(USERS)  # user 10 has no data
        if group.kind in ("clique", "triangle"):
            assert _is_clique(group.members, edges)
        else:  # a user, a friend, and friends of that friend the user does not know
            assert group.kind == "friends-of-friend"
            assert any(
                sum(m in graph[hub] for m in group.members if m != hub) == len(group) - 1
                for hub in group.members
            )
    kinds = {g.kind for g in groups}
    assert {"clique", "triangle"} <= kinds


def test_a_clique_larger_than_eight_gives_eight_member_subsets() -> None:
    big = list(combinations(range(1, 11), 2))

    groups = friend_groups(np.array(big), list(range(1, 11)), seed=0)

    cliques = [g for g in groups if g.kind == "clique"]
    assert cliques and all(len(g) == 8 for g in cliques)


def test_split_is_seeded_and_test_groups_never_appear_in_training(lastfm_small: Path) -> None:
    data = load(lastfm_small)
    groups = friend_groups(data.friends, data.user_ids)

    split = split_groups(groups, test_fraction=0.3, seed=5)
    again = split_groups(groups, test_fraction=0.3, seed=5)

    assert split == again
    assert split.train and split.test
    assert not {g.members for g in split.train} & {g.members for g in split.test}
    assert len(split.train) + len(split.test) == len(groups)
    known = set(data.user_ids.tolist())
    assert all(set(g.members) <= known for g in split.train + split.test)


def test_the_project_fixture_holds_the_known_four_clique(lastfm_small: Path) -> None:
    data = load(lastfm_small)

    groups = friend_groups(data.friends, data.user_ids)

    # Users 4, 99, 124 and 211 are mutual friends in user_friends.dat and all have plays.
    assert (4, 99, 124, 211) in {g.members for g in groups if g.kind == "clique"}


def test_random_groups_and_sampling_are_seeded() -> None:
    users = np.arange(100, 120)

    groups = random_groups(users, 10, seed=1)

    assert groups == random_groups(users, 10, seed=1)
    assert len(groups) == 10 and all(2 <= len(g) <= 4 for g in groups)
    assert sample_groups(groups, 4, seed=2) == sample_groups(groups, 4, seed=2)
    assert len(sample_groups(groups, 4)) == 4 and sample_groups(groups, 0) == groups
    with pytest.raises(ValueError, match="test_fraction"):
        split_groups(groups, test_fraction=1.0)
