"""The in-process cache of active models, without Django."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from ml.artifacts import ACTIVE_FILE, ModelStore
from ml.base import ModelLoadError
from ml.registry import ModelRegistry
from tests.ml.test_artifacts import ToyRecommender, publish, scores, toy_data


class CountingToy(ToyRecommender):
    """Counts loads, to see when the registry goes to disk."""

    loads: ClassVar[int] = 0

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        type(self).loads += 1
        super()._set_state(arrays, folder)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    CountingToy.loads = 0
    return ModelStore(tmp_path, classes={"toy": CountingToy})


def test_get_loads_once_and_then_serves_from_memory(store: ModelStore) -> None:
    publish(store, 0.0)
    registry = ModelRegistry(store, check_interval=0)

    first = registry.get("toy")
    second = registry.get("toy")

    assert first is second and CountingToy.loads == 1
    assert registry.version("toy") == "0001"
    np.testing.assert_array_equal(scores(first), scores(ToyRecommender().fit(toy_data())))


def test_get_reloads_after_a_publish_or_a_rollback(store: ModelStore) -> None:
    publish(store, 0.0)
    registry = ModelRegistry(store, check_interval=0)
    old = registry.get("toy")

    publish(store, 4.0)
    new = registry.get("toy")
    store.rollback("toy")
    back = registry.get("toy")

    assert new is not old and registry.version("toy") == "0001"
    assert not np.array_equal(scores(new), scores(old))
    np.testing.assert_array_equal(scores(back), scores(old))


def test_the_pointer_is_not_looked_at_again_within_the_interval(store: ModelStore) -> None:
    publish(store, 0.0)
    registry = ModelRegistry(store, check_interval=3600)
    old = registry.get("toy")

    publish(store, 4.0)

    assert registry.get("toy") is old
    registry.clear("toy")
    assert registry.get("toy") is not old and registry.version("toy") == "0002"


def test_a_broken_new_version_leaves_the_loaded_one_serving(store: ModelStore) -> None:
    publish(store, 0.0)
    publish(store, 4.0, activate=False)
    registry = ModelRegistry(store, check_interval=0)
    old = registry.get("toy")
    (store.root / "toy" / "0002" / "arrays.npz").write_bytes(b"broken")
    (store.root / "toy" / ACTIVE_FILE).write_text("0002\n")  # flipped behind the store's back

    assert registry.get("toy") is old
    registry.clear()
    with pytest.raises(ModelLoadError, match=r"checksum mismatch in arrays\.npz"):
        registry.get("toy")


def test_no_active_version_is_a_load_error(store: ModelStore) -> None:
    with pytest.raises(ModelLoadError, match="model 'toy' has no active version"):
        ModelRegistry(store, check_interval=0).get("toy")


def test_concurrent_gets_load_the_model_once(store: ModelStore) -> None:
    publish(store, 0.0)
    registry = ModelRegistry(store, check_interval=60)
    results: list[object] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        results.append(registry.get("toy"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8 and len({id(r) for r in results}) == 1
    assert CountingToy.loads == 1
