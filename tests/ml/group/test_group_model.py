"""The group model on a tiny config: the shared contract, group lists, compatibility, saving."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ml.base import BaseRecommender, UnknownUserError
from ml.data.interactions import load
from ml.group.config import GroupConfig
from ml.group.estimator import GroupRecommender
from ml.group.groups import Group
from ml.group.policies import POLICIES
from ml.group.text import attach_names
from tests.ml.conftest import Checkerboard, make_checkerboard
from tests.ml.contract import RecommenderContract

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lastfm-small"


def _with_friends(board: Checkerboard) -> Checkerboard:
    """The checkerboard with a friend graph: everyone is friends within their taste cluster."""
    users = board.data.user_ids.tolist()
    pairs = [
        (a, b) for a in users for b in users if a < b and board.clusters[a] == board.clusters[b]
    ]
    return replace(board, data=replace(board.data, friends=np.array(pairs)))


@pytest.fixture(scope="module")
def board() -> Checkerboard:
    return _with_friends(make_checkerboard())


@pytest.fixture(scope="module")
def model(board: Checkerboard) -> GroupRecommender:
    return GroupRecommender.tiny().fit(board.data)


class TestGroupContract(RecommenderContract):
    def make_model(self) -> BaseRecommender:
        return GroupRecommender.tiny()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> BaseRecommender:  # one fit for the whole contract (about a second)
        return GroupRecommender.tiny().fit(make_checkerboard().data)


def _fans(board: Checkerboard, cluster: int, skip: int) -> dict[str, float]:
    """A newcomer who plays every item of ``cluster`` but one (``skip``, its position)."""
    items = [
        i for i, c in zip(board.data.item_ids, _item_clusters(board), strict=True) if c == cluster
    ]
    return {item: 50.0 for k, item in enumerate(items) if k != skip}


def _item_clusters(board: Checkerboard) -> list[int]:
    n = len(board.data.item_ids)
    return [0 if k < n // 2 else 1 for k in range(n)]


def test_a_group_of_fans_of_one_cluster_gets_that_clusters_missing_item(
    model: GroupRecommender, board: Checkerboard
) -> None:
    a, b = _fans(board, 0, skip=0), _fans(board, 0, skip=0)
    missing = str(board.data.item_ids[0])

    for policy in ("learned", *POLICIES):
        result = model.recommend_group([a, b], n=1, policy=policy)
        assert result.item_ids.tolist() == [missing], policy


def test_known_members_by_id_and_the_result_explains_itself(
    model: GroupRecommender, board: Checkerboard
) -> None:
    members = [int(u) for u in board.data.user_ids[:3]]

    result = model.recommend_group(members, n=4)

    assert result.member_ids == tuple(members)
    assert result.item_ids.shape == result.scores.shape == (4,)
    assert np.all(np.diff(result.scores) <= 0)
    assert result.member_weights.shape == (3, 4)
    np.testing.assert_allclose(result.member_weights.sum(axis=0), 1.0, rtol=1e-5)
    heard = {i for u in range(3) for i in board.data.item_ids[board.data.matrix[u].indices]}
    assert not heard & set(result.item_ids.tolist())


def test_fairness_serves_the_member_the_room_has_not_served_yet(
    model: GroupRecommender, board: Checkerboard
) -> None:
    zero, one = _fans(board, 0, skip=0), _fans(board, 1, skip=0)
    zero_missing, one_missing = str(board.data.item_ids[0]), str(board.data.item_ids[5])
    # Only the two missing items and nothing else are new to this pair; play one of them.
    first = model.recommend_group([zero, one], n=2, policy="fairness")
    after = model.recommend_group([zero, one], n=1, policy="fairness", history=[zero_missing])

    assert set(first.item_ids.tolist()) == {zero_missing, one_missing}
    assert after.item_ids.tolist() == [one_missing]
    assert after.satisfaction[0] > after.satisfaction[1]


def test_same_taste_is_more_compatible_than_disjoint_taste(
    model: GroupRecommender, board: Checkerboard
) -> None:
    a, b, c = _fans(board, 0, skip=0), _fans(board, 0, skip=1), _fans(board, 1, skip=0)

    same = model.compatibility(a, b, names=("Alice", "Bob"))
    apart = model.compatibility(a, c, names=("Alice", "Carol"))

    assert 0 <= apart.score < same.score <= 100
    assert all(isinstance(r, str) and r.endswith(".") for r in same.reasons + apart.reasons)
    assert same.shared_artists and "Alice and Bob both play" in same.reasons[1]
    assert apart.shared_artists == [] and "no artist in common" in apart.reasons[1]
    assert apart.disagreement and apart.disagreement.startswith("Biggest difference: ")
    assert set(same.similarities) == {"taste", "tags", "artists", "preferences"}


def test_compatibility_with_a_group_averages_the_members(
    model: GroupRecommender, board: Checkerboard
) -> None:
    users = [int(u) for u in board.data.user_ids]
    own_cluster, other_cluster = users[1:4], users[5:8]

    home = model.compatibility_group(users[0], own_cluster)
    away = model.compatibility_group(users[0], other_cluster)

    assert home.score > away.score
    assert home.reasons[0].startswith("Group match ") and "across 3 member(s)" in home.reasons[0]
    assert any(r.startswith("Shared with the group: ") for r in home.reasons)
    pairs = [model.compatibility(users[0], u).score for u in own_cluster]
    assert abs(home.score - np.mean(pairs)) <= 1


def test_save_then_load_gives_the_same_group_lists_and_scores(
    model: GroupRecommender, board: Checkerboard, tmp_path: Path
) -> None:
    members = [int(u) for u in board.data.user_ids[[0, 6]]]
    loaded = GroupRecommender.load(model.save(tmp_path / "group"))

    for policy in ("learned", "least-misery"):
        mine = model.recommend_group(members, n=3, policy=policy)
        theirs = loaded.recommend_group(members, n=3, policy=policy)
        assert mine.item_ids.tolist() == theirs.item_ids.tolist()
        np.testing.assert_allclose(mine.scores, theirs.scores, rtol=1e-5)
    assert (
        loaded.compatibility(members[0], members[1]).score
        == model.compatibility(members[0], members[1]).score
    )
    assert [e.epoch for e in loaded.training_log_] == [e.epoch for e in model.training_log_]


def test_bad_group_requests_fail_clearly(model: GroupRecommender) -> None:
    with pytest.raises(ValueError, match="unknown policy 'loudest'"):
        model.recommend_group([1000, 1001], policy="loudest")
    with pytest.raises(ValueError, match="at least one member"):
        model.recommend_group([])
    with pytest.raises(UnknownUserError):
        model.recommend_group([1000, 424242])
    with pytest.raises(ValueError, match="n must be at least 1"):
        model.recommend_group([1000], n=0)


def test_trains_on_the_groups_it_is_given_and_reads_names_on_real_data() -> None:
    data = attach_names(load(FIXTURE), FIXTURE)
    groups = [Group((4, 99, 124, 211), "clique"), Group((3, 78), "clique")]

    model = GroupRecommender.tiny(epochs=2, candidates=60).fit(data, groups=groups)

    assert [e.epoch for e in model.training_log_] == [0, 1, 2]
    text = model._texts(model.train_matrix_[:1])[0]
    assert text.startswith("tags: ") and "artists: " in text
    result = model.recommend_group([4, 99, 124], n=5)
    assert len(result.item_ids) == 5


def test_config_validates_and_round_trips() -> None:
    config = GroupConfig.tiny()

    assert GroupConfig.from_dict(config.to_dict()) == config
    assert GroupRecommender.from_config(config).config == config
    with pytest.raises(ValueError, match=r"GroupConfig\.candidates=0"):
        GroupConfig(candidates=0)
    with pytest.raises(ValueError, match=r"GroupConfig\.target_fraction=1"):
        GroupConfig(target_fraction=1.0)
    with pytest.raises(ValueError, match="unknown keys colour"):
        GroupConfig.from_dict({"colour": "red"})
