"""Two published hybrid versions (0001 active, 0002 a copy), the demo data and a listener.

The hybrid is trained once per session (tiny) and published a second time as ``0002`` (a copy:
the arms differ by version, which is what the serving path and the promotion act on). Every
test starts with ``0001`` active in the store, in the database rows and in the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ml.artifacts import ModelStore
from recommender.models import ModelVersion
from recommender.selectors_ml import model_registry
from recommender.services.hybrid import hybrid_train
from recommender.services.model_versions import model_version_record
from tests.recommender.serving.conftest import (  # noqa: F401  (fixtures)
    _fresh_serving_caches,
    demo_data,
    listener,
    listener_client,
)

HYBRID = "hybrid"


@pytest.fixture(scope="session")
def _experiment_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("experiment-models")


def _publish_copy(store: ModelStore) -> None:
    original = store.get(HYBRID, "0001")
    store.publish(
        store.load(HYBRID, "0001"),
        name=HYBRID,
        metrics=original.manifest["metrics"],
        command="tests: a copy of 0001",
        data_fingerprint=original.manifest["data_fingerprint"],
        activate=False,
    )


@pytest.fixture
def two_hybrids(demo_data: None, settings: Any, _experiment_store: Path) -> list[str]:  # noqa: F811
    settings.ML_STORE_DIR = _experiment_store
    store = ModelStore(_experiment_store)
    if not store.versions(HYBRID):
        hybrid_train(tiny=True)
    if len(store.versions(HYBRID)) < 2:
        _publish_copy(store)
    if store.active_version(HYBRID) != "0001":
        store.activate(HYBRID, "0001")
    model_registry().clear()
    for version, status in (("0001", ModelVersion.Status.ACTIVE), ("0002", "candidate")):
        found = store.get(HYBRID, version)
        model_version_record(
            name=HYBRID, version=version, manifest=found.manifest, path=found.path, status=status
        )
    return ["0001", "0002"]


@pytest.fixture
def fake_store(settings: Any, tmp_path: Path) -> Path:
    """A store with hybrid versions 0001 and 0002 as bare folders: enough for validation."""
    for version in ("0001", "0002"):
        (tmp_path / HYBRID / version).mkdir(parents=True)
    settings.ML_STORE_DIR = tmp_path
    return tmp_path
