"""``manage.py train group``: validated on friend groups, published, active, and serving."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from ml.artifacts import ModelStore
from ml.group.estimator import GroupRecommender
from recommender.models import ModelVersion
from recommender.services.imports import lastfm_import

pytestmark = pytest.mark.django_db


def test_train_group_publishes_a_model_measured_on_friend_groups(
    settings: Any, tmp_path: Path, fixtures_dir: Path
) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    out = StringIO()

    call_command("train", "group", "--tiny", "--no-progress", stdout=out)

    assert out.getvalue().startswith("group: version 0001 is active (")
    row = ModelVersion.objects.get(name="group")
    assert row.status == "active" and row.model_type == "group"
    assert {"ndcg", "member_ndcg_mean", "member_ndcg_min", "dominance"} <= set(row.metrics)
    model = ModelStore(settings.ML_STORE_DIR).load("group")
    assert isinstance(model, GroupRecommender)
    text = model._texts(model.train_matrix_[:1])[0]
    assert "artists: " in text and not text.split("artists: ")[1][0].isdigit()  # real names
    assert len(model.recommend_group([4, 99, 124], n=3).item_ids) == 3
