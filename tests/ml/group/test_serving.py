"""Group serving over a column subset equals the full group ranking restricted to it."""

from __future__ import annotations

import numpy as np
import pytest

from ml.group.estimator import GroupRecommender
from ml.group.serving import member_profile, recommend_group_columns
from tests.ml.conftest import make_checkerboard


@pytest.fixture(scope="module")
def model() -> GroupRecommender:
    return GroupRecommender.tiny().fit(make_checkerboard().data)


@pytest.mark.parametrize("policy", ["learned", "average"])
def test_all_columns_match_recommend_group(model: GroupRecommender, policy: str) -> None:
    ids = model.user_ids_[:3].tolist()
    history = model.train_matrix_[model.user_rows(ids)]
    profiles = [member_profile(model, history[k], raw) for k, raw in enumerate(ids)]

    served = recommend_group_columns(
        model, history, profiles, np.arange(model.n_items), n=4, policy=policy
    )

    full = model.recommend_group(ids, n=4, policy=policy)
    assert served.item_ids.tolist() == full.item_ids.tolist()
    np.testing.assert_allclose(served.scores, full.scores, rtol=1e-4, atol=1e-4)


def test_new_members_and_played_items(model: GroupRecommender) -> None:
    history = model.history_matrix([{model.item_ids_[0]: 3.0}, {model.item_ids_[1]: 1.0}])
    profiles = [member_profile(model, history[k], None) for k in range(2)]
    columns = np.arange(2, model.n_items)

    out = recommend_group_columns(
        model, history, profiles, columns, n=3, played=np.array([columns[0]])
    )

    assert all(p.row == -1 for p in profiles)
    assert len(out.item_ids) == 3
    assert model.item_ids_[columns[0]] not in out.item_ids.tolist()
    assert set(out.item_ids.tolist()) <= set(model.item_ids_[columns].tolist())


def test_numpy_layers_equal_the_module() -> None:
    import torch

    from ml.group.config import GroupConfig
    from ml.group.modeling import GroupLayers, GroupLayersNumpy

    torch.manual_seed(0)
    layers = GroupLayers(GroupConfig.tiny(), n_features=6, text_dim=10)
    with torch.no_grad():
        for parameter in layers.parameters():  # away from the near-zero start
            parameter.normal_(0.0, 0.5)
    layers.eval()
    rng = np.random.default_rng(0)
    features = rng.random((40, 6), dtype=np.float32)
    items = np.array([3, 17, 5, 39, 0, 22])
    text = rng.normal(size=(4, 10)).astype(np.float32)
    prefs = rng.normal(size=(4, len(items), 2)).astype(np.float32)
    context = rng.normal(size=(len(items), 2)).astype(np.float32)

    scores, weights = GroupLayersNumpy(layers, features).forward(text, items, prefs, context)

    with torch.no_grad():
        out = layers(
            torch.from_numpy(text[None]),
            torch.ones(1, 4, dtype=torch.bool),
            torch.from_numpy(features[items][None]),
            torch.from_numpy(prefs[None]),
            torch.from_numpy(context[None]),
        )
    np.testing.assert_allclose(scores, out.scores[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(weights, out.weights[0].numpy(), rtol=1e-4, atol=1e-6)
    assert np.std(scores) > 0.01  # the comparison is not between two constants
