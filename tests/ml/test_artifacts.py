"""The versioned model store (rules 18-20), without Django.

A tiny real recommender defined here keeps these tests independent of the model files; it has
learned state (``weights_``) so saving and loading round-trip more than the base arrays.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from ml.artifacts import (
    ACTIVE_FILE,
    ARTIFACT_SCHEMA_VERSION,
    MANIFEST_FILE,
    ModelStore,
    ModelStoreError,
)
from ml.base import BaseRecommender, ModelFitError, ModelLoadError
from ml.data.interactions import Interactions, from_triples

ROOT = Path(__file__).resolve().parents[2]


class ToyRecommender(BaseRecommender):
    """Scores every item by its total weight plus ``shift`` times its column index."""

    model_type = "toy"

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def _fit(self, data: Interactions) -> None:
        totals = np.asarray(data.matrix.sum(axis=0)).ravel()
        self.weights_ = (totals + self.shift * np.arange(data.n_items)).astype(np.float32)

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.weights_, (history.shape[0], 1))

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        self.weights_ = arrays["weights"]


class OtherToy(ToyRecommender):
    model_type = "other"


def toy_data() -> Interactions:
    users = np.array([1, 1, 2, 2, 3, 3, 3])
    items = np.array([10, 20, 20, 30, 10, 30, 40])
    return from_triples(users, items, np.array([1, 2, 3, 4, 5, 6, 7], np.float32), name="toy")


def toy_store(root: Path, **kwargs: Any) -> ModelStore:
    return ModelStore(root, classes={"toy": ToyRecommender}, **kwargs)


def publish(store: ModelStore, shift: float, **kwargs: Any) -> str:
    model = ToyRecommender(shift=shift).fit(toy_data())
    published = store.publish(
        model,
        name="toy",
        metrics={"ndcg@10": 0.5, "auc": float("nan")},
        command=f"pytest shift={shift}",
        data_fingerprint=toy_data().fingerprint(),
        **kwargs,
    )
    return published.version


def scores(model: BaseRecommender) -> np.ndarray:
    return model.score([1, 2, 3], [10, 20, 30, 40])


# ---- publish and manifest ---------------------------------------------------------------------


def test_publish_writes_a_version_with_a_manifest_and_activates_it(tmp_path: Path) -> None:
    store = toy_store(tmp_path)

    version = publish(store, 0.0)

    assert version == "0001"
    assert store.versions("toy") == ["0001"] and store.active_version("toy") == "0001"
    manifest = json.loads((tmp_path / "toy" / "0001" / MANIFEST_FILE).read_text())
    assert manifest["model_type"] == "toy"
    assert manifest["artifact_schema_version"] == ARTIFACT_SCHEMA_VERSION
    assert manifest["data_fingerprint"] == toy_data().fingerprint()
    assert manifest["command"] == "pytest shift=0.0"
    assert manifest["metrics"] == {"ndcg@10": 0.5, "auc": None}  # NaN is not JSON
    assert manifest["params"] == {"shift": 0.0}
    assert manifest["created_at"].endswith("+00:00")
    assert {"numpy", "scipy", "python"} <= set(manifest["libraries"])
    assert set(manifest["files"]) == {"params.json", "arrays.npz"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())


def test_versions_increase_and_load_gives_the_published_scores(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    first = ToyRecommender(shift=0.0).fit(toy_data())
    publish(store, 0.0)
    publish(store, 5.0, activate=False)

    assert store.versions("toy") == ["0001", "0002"]
    assert store.active_version("toy") == "0001"
    np.testing.assert_array_equal(scores(store.load("toy")), scores(first))
    assert not np.array_equal(scores(store.load("toy", "0002")), scores(first))


def test_publishing_an_unfitted_model_raises_and_writes_nothing(tmp_path: Path) -> None:
    store = toy_store(tmp_path)

    with pytest.raises(ModelFitError, match="not fitted"):
        store.publish(ToyRecommender(), name="toy", metrics={}, command="x", data_fingerprint="x")

    assert store.versions("toy") == []


def test_library_versions_do_not_import_tensorflow(tmp_path: Path) -> None:
    code = "import sys; from ml.artifacts import library_versions as v; v(); "
    code += "print('tensorflow' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert out.stdout.split() == ["False", "False"]


# ---- load checks ------------------------------------------------------------------------------


def _edit_manifest(store: ModelStore, **changes: Any) -> None:
    path = store.root / "toy" / "0001" / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_load_rejects_an_unknown_model_type(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    _edit_manifest(store, model_type="nonsense")

    with pytest.raises(ModelLoadError) as caught:
        store.load("toy")

    assert str(caught.value) == "unknown model type 'nonsense': no registered model has it"


def test_load_rejects_a_class_that_loads_another_type(tmp_path: Path) -> None:
    publish(toy_store(tmp_path), 0.0)
    store = ModelStore(tmp_path, classes={"toy": OtherToy})

    with pytest.raises(ModelLoadError, match="holds a 'toy' model, OtherToy loads 'other'"):
        store.load("toy")


def test_load_rejects_another_artifact_schema(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    _edit_manifest(store, artifact_schema_version=99)

    with pytest.raises(ModelLoadError, match="artifact schema version 99, expected 1"):
        store.load("toy")


def test_load_rejects_a_missing_file(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    (tmp_path / "toy" / "0001" / "arrays.npz").unlink()

    with pytest.raises(ModelLoadError, match=r"missing file arrays\.npz"):
        store.load("toy")


def test_load_rejects_a_changed_file(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    params = tmp_path / "toy" / "0001" / "params.json"
    params.write_text(params.read_text().replace('"shift": 0.0', '"shift": 9.0'))

    with pytest.raises(ModelLoadError) as caught:
        store.load("toy")

    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith("checksum mismatch in params.json")


def test_load_without_an_active_version_or_with_an_unknown_one(tmp_path: Path) -> None:
    store = toy_store(tmp_path)

    with pytest.raises(ModelLoadError, match="model 'toy' has no active version"):
        store.load("toy")
    publish(store, 0.0)
    with pytest.raises(ModelLoadError, match="model 'toy' has no version 0007"):
        store.load("toy", "0007")


# ---- activate and rollback --------------------------------------------------------------------


def test_rollback_walks_back_by_version_order_and_stops_at_the_first(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    for shift in (0.0, 1.0, 2.0):
        publish(store, shift)

    assert store.rollback("toy").version == "0002"
    assert store.active_version("toy") == "0002"
    assert store.rollback("toy").version == "0001"
    with pytest.raises(ModelStoreError) as caught:
        store.rollback("toy")
    assert str(caught.value) == "model 'toy' has no version before 0001"
    assert store.rollback("toy", to="0003").version == "0003"
    assert store.active_version("toy") == "0003"


def test_activate_refuses_unknown_or_broken_versions(tmp_path: Path) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    publish(store, 1.0, activate=False)
    (tmp_path / "toy" / "0002" / "arrays.npz").write_bytes(b"garbage")

    with pytest.raises(ModelStoreError, match="model 'toy' has no version 0009"):
        store.activate("toy", "0009")
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        store.activate("toy", "0002")
    assert store.active_version("toy") == "0001"


def test_rollback_without_an_active_version_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError) as caught:
        toy_store(tmp_path).rollback("toy")

    assert str(caught.value) == "model 'toy' has no active version to roll back from"


def test_invalid_model_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match="invalid model name"):
        toy_store(tmp_path).versions("../etc")


# ---- crashes ----------------------------------------------------------------------------------

PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from ml.artifacts import ModelStore
    from tests.ml.test_artifacts import ToyRecommender, toy_data

    root, stop_at = sys.argv[1], sys.argv[2]

    def pause(step):
        if step == stop_at:
            print(step, flush=True)
            time.sleep(120)

    store = ModelStore(root, on_step=pause)
    model = ToyRecommender(shift=3.0).fit(toy_data())
    store.publish(model, name="toy", metrics={}, command="crash", data_fingerprint="x")
    """
)


def _publish_and_kill(root: Path, step: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(root), step],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, f"the publisher never reached step {step!r}"
        assert proc.stdout.readline().strip() == step
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("step", "published"),
    [
        ("saved", False),  # weights written into 0002.tmp/, no manifest yet
        ("manifest", False),  # whole version written and fsynced, folder not renamed
        ("renamed", True),  # 0002/ in place, pointer not touched
        ("pointer-staged", True),  # ACTIVE.tmp written: the kill lands just before the flip
    ],
)
def test_a_publisher_killed_mid_way_leaves_the_active_version_serving(
    tmp_path: Path, step: str, published: bool
) -> None:
    store = toy_store(tmp_path)
    publish(store, 0.0)
    before = scores(store.load("toy"))

    _publish_and_kill(tmp_path, step)

    assert store.active_version("toy") == "0001"
    np.testing.assert_array_equal(scores(store.load("toy")), before)
    assert store.versions("toy") == (["0001", "0002"] if published else ["0001"])
    leftovers = sorted(p.name for p in (tmp_path / "toy").iterdir() if p.name.endswith(".tmp"))
    assert leftovers == (
        ["ACTIVE.tmp"] if step == "pointer-staged" else [] if published else ["0002.tmp"]
    )

    # The next publish cleans up and carries on numbering after the last complete version.
    version = publish(store, 1.0)

    assert version == ("0003" if published else "0002")
    assert not [p for p in (tmp_path / "toy").iterdir() if p.name.endswith(".tmp")]
    assert (tmp_path / "toy" / ACTIVE_FILE).read_text().strip() == version
