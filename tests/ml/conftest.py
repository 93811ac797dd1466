"""Toy interaction sets whose right answers are known, for the ml tests (no Django involved)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml.data.interactions import Interactions

CLUSTER_SIZE = 5


@dataclass(frozen=True)
class Checkerboard:
    """Two taste clusters; user ``k`` of a cluster likes its cluster's items except item ``k``.

    ``withheld[user_id]`` is that diagonal item: the only unseen item in the user's cluster, so a
    collaborative model must rank it first.
    """

    data: Interactions
    withheld: dict[int, str]
    clusters: dict[int, int]


def make_checkerboard(cluster_size: int = CLUSTER_SIZE) -> Checkerboard:
    n = 2 * cluster_size
    user_ids = np.arange(1000, 1000 + n)  # raw ids that are not row numbers
    item_ids = np.array([f"artist-{i:02d}" for i in range(n)])
    dense = np.zeros((n, n), dtype=np.float32)
    withheld, clusters = {}, {}
    for u in range(n):
        cluster = u // cluster_size
        for i in range(cluster * cluster_size, (cluster + 1) * cluster_size):
            if i != u:
                dense[u, i] = 1 + (7 * u + 13 * i) % 97 * 11  # skewed "play counts", 1..1057
        withheld[int(user_ids[u])] = str(item_ids[u])
        clusters[int(user_ids[u])] = cluster
    data = Interactions(matrix=sp.csr_matrix(dense), user_ids=user_ids, item_ids=item_ids)
    return Checkerboard(data=data, withheld=withheld, clusters=clusters)


@pytest.fixture
def checkerboard() -> Checkerboard:
    return make_checkerboard()


@pytest.fixture
def lastfm_small(fixtures_dir: Path) -> Path:
    return fixtures_dir / "lastfm-small"
