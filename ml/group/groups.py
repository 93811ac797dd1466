"""Real listening groups from the friend graph, and a seeded split into training and test groups.

Three kinds of group, all among users who have listening data:

* ``clique``: every maximal clique of 2 to 8 friends (Bron-Kerbosch with pivoting); a larger
  clique gives seeded 8-member subsets instead;
* ``triangle``: three mutual friends inside a larger clique (a sample, seeded);
* ``friends-of-friend``: a user, one friend and up to two of that friend's friends the user
  does not know (one set per user, seeded): the "bring a friend" party.

Test groups are *ephemeral*: :func:`split_groups` puts each distinct member set on one side
only, so a test group was never seen as a group in training (its members may have been, through
their own histories and other groups, as in a product where people form new rooms).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_SIZE = 2
MAX_SIZE = 8
KINDS = ("clique", "triangle", "friends-of-friend")


@dataclass(frozen=True)
class Group:
    """A set of users (raw ids, sorted) and how it was found."""

    members: tuple[Any, ...]
    kind: str

    def __len__(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class GroupSplit:
    train: list[Group]
    test: list[Group]


def friend_graph(friends: np.ndarray | None, users: Iterable[Any]) -> dict[Any, set[Any]]:
    """Adjacency sets over ``users`` from raw id pairs (pairs naming other users are dropped)."""
    known = set(np.asarray(list(users)).tolist())
    graph: dict[Any, set[Any]] = {}
    if friends is None:
        return graph
    for a, b in np.asarray(friends).reshape(-1, 2).tolist():
        if a != b and a in known and b in known:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
    return graph


def maximal_cliques(graph: dict[Any, set[Any]]) -> Iterator[frozenset[Any]]:
    """Every maximal clique of at least two nodes (iterative Bron-Kerbosch with pivoting)."""
    stack: list[tuple[set[Any], set[Any], set[Any]]] = [(set(), set(graph), set())]
    while stack:
        r, p, x = stack.pop()
        if not p and not x:
            if len(r) >= 2:
                yield frozenset(r)
            continue
        pivot = max(p | x, key=lambda v: len(graph[v] & p))
        for v in list(p - graph[pivot]):
            stack.append((r | {v}, p & graph[v], x & graph[v]))
            p = p - {v}
            x = x | {v}


def _key(user: Any) -> tuple[str, Any]:
    return (type(user).__name__, user)


def _sorted(members: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(members, key=_key))


def friend_groups(
    friends: np.ndarray | None,
    users: Sequence[Any] | np.ndarray,
    *,
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
    seed: int = 7,
) -> list[Group]:
    """All distinct groups of the three kinds (see the module docstring), in a stable order."""
    if not MIN_SIZE <= min_size <= max_size:
        raise ValueError(
            f"group sizes must satisfy 2 <= min_size <= max_size, got {min_size}..{max_size}"
        )
    rng = np.random.default_rng(seed)
    graph = friend_graph(friends, users)
    found: dict[tuple[Any, ...], Group] = {}

    def add(members: Iterable[Any], kind: str) -> None:
        key = _sorted(members)
        if min_size <= len(key) <= max_size and key not in found:
            found[key] = Group(key, kind)

    cliques = sorted((_sorted(c) for c in maximal_cliques(graph)), key=lambda c: (len(c), c))
    for clique in cliques:
        if len(clique) <= max_size:
            add(clique, "clique")
        else:
            for _ in range(len(clique) // max_size + 1):
                picked = rng.choice(len(clique), max_size, replace=False)
                add((clique[i] for i in picked), "clique")
    larger = [c for c in cliques if len(c) > 3]
    for _ in range(len(larger)):
        clique = larger[int(rng.integers(len(larger)))]
        add((clique[i] for i in rng.choice(len(clique), 3, replace=False)), "triangle")
    for user in _sorted(graph):
        _friends_of_friend(graph, user, rng, add)
    return list(found.values())


def _friends_of_friend(
    graph: dict[Any, set[Any]], user: Any, rng: np.random.Generator, add: Any
) -> None:
    friends = _sorted(graph[user])
    friend = friends[int(rng.integers(len(friends)))]
    strangers = _sorted(graph[friend] - graph[user] - {user})
    if not strangers:
        return
    count = min(len(strangers), int(rng.integers(1, 3)))
    picked = [strangers[i] for i in rng.choice(len(strangers), count, replace=False)]
    add([user, friend, *picked], "friends-of-friend")


def random_groups(
    users: Sequence[Any] | np.ndarray, n_groups: int, *, seed: int = 7, max_size: int = 4
) -> list[Group]:
    """Seeded random groups of 2..``max_size`` users: the fallback when data has no friend graph."""
    users = np.asarray(users)
    rng = np.random.default_rng(seed)
    found: dict[tuple[Any, ...], Group] = {}
    top = min(max_size, len(users))
    for _ in range(n_groups * 3):
        if len(found) >= n_groups or top < MIN_SIZE:
            break
        size = int(rng.integers(MIN_SIZE, top + 1))
        key = _sorted(users[rng.choice(len(users), size, replace=False)].tolist())
        found.setdefault(key, Group(key, "random"))
    return list(found.values())


def split_groups(
    groups: Sequence[Group], *, test_fraction: float = 0.2, seed: int = 7
) -> GroupSplit:
    """Seeded split of distinct member sets: a test group never appears among training groups."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    distinct = list({g.members: g for g in groups}.values())
    order = np.random.default_rng(seed).permutation(len(distinct))
    n_test = round(len(distinct) * test_fraction)
    if len(distinct) >= 2:
        n_test = min(max(n_test, 1), len(distinct) - 1)
    return GroupSplit(
        train=[distinct[i] for i in sorted(order[n_test:])],
        test=[distinct[i] for i in sorted(order[:n_test])],
    )


def sample_groups(groups: Sequence[Group], limit: int, *, seed: int = 7) -> list[Group]:
    """At most ``limit`` groups (seeded, order kept); 0 keeps them all."""
    if limit <= 0 or len(groups) <= limit:
        return list(groups)
    keep = np.sort(np.random.default_rng(seed).choice(len(groups), limit, replace=False))
    return [groups[i] for i in keep]
