"""The bias report: from real served lists of a tiny trained hybrid, cached; or "not trained"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from monitoring.services.bias import bias_report_compute, bias_report_get
from recommender.models import ModelVersion
from recommender.services.hybrid import hybrid_train
from recommender.services.imports.lastfm import lastfm_import
from recommender.services.imports.moods import moods_import
from recommender.services.imports.tracks import tracks_import
from recommender.services.model_versions import model_version_activate
from recommender.serving.hybrid import serving_caches_clear

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained_hybrid(settings: Any, tmp_path: Path, fixtures_dir: Path) -> Iterator[None]:
    settings.ML_STORE_DIR = tmp_path / "models"
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    published = hybrid_train(tiny=True)
    if published.status != ModelVersion.Status.ACTIVE:  # a promotion gate may hold it
        model_version_activate(name="hybrid", version=published.version)
    cache.clear()
    serving_caches_clear()
    yield
    cache.clear()
    serving_caches_clear()


def test_without_a_trained_model_the_report_says_so(settings: Any, tmp_path: Path) -> None:
    settings.ML_STORE_DIR = tmp_path / "empty"
    serving_caches_clear()
    report = bias_report_compute(sample_size=5)
    assert report["status"] == "not_trained"
    assert "not trained" in report["message"]
    assert report["popularity_bias"] is None and report["definitions"]


def test_the_report_measures_real_lists_and_is_cached(trained_hybrid: None) -> None:
    report = bias_report_get()

    assert report["status"] == "ok", report["message"]
    assert report["lists"] == report["listeners"] > 0
    assert 0 < report["popularity_bias"] < 100  # type: ignore[operator]
    assert 0 < report["coverage"] <= 1  # type: ignore[operator]
    assert 0 < report["artist_diversity"] <= 1  # type: ignore[operator]
    assert report["genre_diversity"] is not None
    assert sum(report["popularity_deciles"]) == pytest.approx(100.0, abs=0.1)
    assert report["model_version"]

    assert bias_report_get()["computed_at"] == report["computed_at"]  # from the cache
    assert bias_report_get(refresh=True)["computed_at"] != report["computed_at"]
