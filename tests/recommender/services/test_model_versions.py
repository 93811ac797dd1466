"""Model versions: the store pointer and the database rows move together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from ml.artifacts import ModelStore
from ml.data.interactions import from_triples
from ml.models import build
from recommender.models import ModelVersion
from recommender.services.model_versions import (
    ModelNotFound,
    ModelVersionError,
    model_name_resolve,
    model_version_activate,
    model_version_record,
    model_version_rollback,
)

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> ModelStore:
    settings.ML_STORE_DIR = tmp_path / "models"
    return ModelStore(settings.ML_STORE_DIR)


def _publish(store: ModelStore, n: int = 1, *, activate: bool = False) -> list[str]:
    """``n`` popularity versions, each fitted on slightly different data."""
    versions = []
    for k in range(n):
        data = from_triples(
            np.array([1, 1, 2, 3]), np.array([10, 20, 20, 30 + k]), np.ones(4, np.float32)
        )
        model = build("popularity").fit(data)
        published = store.publish(
            model,
            name="popularity",
            metrics={"ndcg@10": 0.1 * (k + 1)},
            command="pytest",
            data_fingerprint=data.fingerprint(),
            activate=activate,
        )
        versions.append(published.version)
    return versions


def _statuses() -> dict[str, str]:
    return dict(ModelVersion.objects.values_list("version", "status"))


def test_record_mirrors_the_manifest(store: ModelStore) -> None:
    (version,) = _publish(store)
    stored = store.get("popularity", version)

    row = model_version_record(
        name="popularity", version=version, manifest=stored.manifest, path=stored.path
    )

    assert (row.name, row.version, row.model_type) == ("popularity", "0001", "popularity")
    assert row.status == Status.CANDIDATE and row.activated_at is None
    assert row.metrics == {"ndcg@10": 0.1}
    assert row.command == "pytest" and len(row.data_fingerprint) == 16
    assert row.path == str(stored.path)
    assert row.created_at.isoformat(timespec="seconds") == stored.manifest["created_at"]


def test_activate_flips_the_pointer_and_retires_the_previous_row(store: ModelStore) -> None:
    first, second = _publish(store, 2)
    model_version_activate(name="popularity", version=first)

    row = model_version_activate(name="popularity", version=second)

    assert row.status == Status.ACTIVE and row.activated_at is not None
    assert store.active_version("popularity") == second
    assert _statuses() == {first: Status.RETIRED, second: Status.ACTIVE}


def test_activate_records_a_version_published_outside_django(store: ModelStore) -> None:
    (version,) = _publish(store, activate=True)  # e.g. by ``python -m ml train``
    assert not ModelVersion.objects.exists()

    model_version_activate(name="popularity", version=version)

    assert _statuses() == {version: Status.ACTIVE}


def test_activate_an_unknown_version_is_not_found(store: ModelStore) -> None:
    _publish(store)

    with pytest.raises(ModelNotFound) as caught:
        model_version_activate(name="popularity", version="9")

    assert caught.value.message == "model 'popularity' has no version 0009"


def test_a_version_that_does_not_load_changes_nothing(store: ModelStore) -> None:
    first, second = _publish(store, 2)
    model_version_activate(name="popularity", version=first)
    (store.path("popularity", second) / "arrays.npz").write_bytes(b"truncated")

    with pytest.raises(ModelVersionError) as caught:
        model_version_activate(name="popularity", version=second)

    assert "checksum mismatch in arrays.npz" in caught.value.message
    assert store.active_version("popularity") == first
    assert _statuses() == {first: Status.ACTIVE}  # the candidate row was rolled back too


def test_rollback_goes_to_the_previous_version_and_skips_failed_ones(store: ModelStore) -> None:
    first, second, third = _publish(store, 3)
    for version in (first, second, third):
        model_version_activate(name="popularity", version=version)
    ModelVersion.objects.filter(version=second).update(status=Status.FAILED)

    row = model_version_rollback(name="popularity")

    assert row.version == first and store.active_version("popularity") == first
    assert _statuses() == {first: Status.ACTIVE, second: Status.FAILED, third: Status.RETIRED}


def test_rollback_to_a_named_version(store: ModelStore) -> None:
    first, second = _publish(store, 2)
    model_version_activate(name="popularity", version=first)

    row = model_version_rollback(name="popularity", to="2")  # padding is optional

    assert row.version == second and store.active_version("popularity") == second


def test_rollback_with_nothing_older_is_one_line(store: ModelStore) -> None:
    _publish(store, activate=True)

    with pytest.raises(ModelVersionError) as caught:
        model_version_rollback(name="popularity")

    assert caught.value.message == "model 'popularity' has no version before 0001"
    with pytest.raises(ModelVersionError, match="has no active version to roll back from"):
        model_version_rollback(name="ease")


def test_only_one_row_per_name_can_be_active(store: ModelStore) -> None:
    first, second = _publish(store, 2)
    model_version_activate(name="popularity", version=first)
    stored = store.get("popularity", second)

    with pytest.raises(ValidationError):
        model_version_record(
            name="popularity",
            version=second,
            manifest=stored.manifest,
            path=stored.path,
            status=Status.ACTIVE,
        )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("user_preference", ("user_preference", "ncf")),
        ("ncf", ("user_preference", "ncf")),
        ("als", ("als", "als")),
        ("popularity", ("popularity", "popularity")),
    ],
)
def test_model_names_resolve_to_a_store_and_an_ml_name(
    name: str, expected: tuple[str, str]
) -> None:
    assert model_name_resolve(name=name) == expected


def test_an_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(ModelNotFound) as caught:
        model_name_resolve(name="nosuchmodel")

    assert caught.value.message.startswith("unknown model 'nosuchmodel'; choose from als, ")
