"""``manage.py train``, ``evaluate`` and ``rollback`` on the imported Last.fm fixture."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ml.artifacts import ModelStore
from recommender.models import ModelVersion
from recommender.services.imports import lastfm_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> ModelStore:
    settings.ML_STORE_DIR = tmp_path / "models"
    return ModelStore(settings.ML_STORE_DIR)


@pytest.fixture
def imported(fixtures_dir: Path) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO())
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---- train --------------------------------------------------------------------------------------


def test_train_publishes_records_and_activates_a_version(store: ModelStore, imported: None) -> None:
    out = run("train", "popularity", "--no-progress")

    assert out.startswith("popularity: version 0001 is active (")
    assert store.active_version("popularity") == "0001"
    row = ModelVersion.objects.get()
    assert (row.name, row.version, row.status) == ("popularity", "0001", "active")
    assert row.model_type == "popularity" and row.activated_at is not None
    assert row.metrics and all(0.0 <= v <= 1.0 for v in row.metrics.values() if v is not None)
    manifest = store.manifest("popularity", "0001")
    assert manifest["command"] == "manage.py train popularity"
    assert manifest["extra"]["served_model"] == "refit on all data"
    assert manifest["extra"]["data"] == {"source": "database", "users": 6, "items": 251}
    # The served model knows every listener's whole history (it was refit on all the data).
    model = store.load("popularity")
    assert model.train_matrix_.nnz == 300


def test_train_user_preference_publishes_the_ncf_model_under_its_django_name(
    store: ModelStore, imported: None
) -> None:
    out = run("train", "user_preference", "--tiny", "--no-progress")

    assert out.startswith("user_preference: version 0001 is active (")
    assert store.versions("ncf") == []  # ncf is the ml name of the same model
    model = store.load("user_preference")
    assert model.model_type == store.manifest("user_preference", "0001")["model_type"]
    assert model.recommend(model.user_ids_[:1], n=3)[0].shape == (1, 3)


def test_train_if_missing_trains_once_for_the_first_run(store: ModelStore, imported: None) -> None:
    first = run("train", "popularity", "--no-progress", "--if-missing")
    second = run("train", "popularity", "--no-progress", "--if-missing")

    assert first.startswith("popularity: version 0001 is active")
    assert second.strip() == "popularity: version 0001 is already active"
    assert store.versions("popularity") == ["0001"]


def test_training_again_retires_the_previous_version(store: ModelStore, imported: None) -> None:
    run("train", "popularity", "--no-progress")
    run("train", "popularity", "--no-progress", "--tiny")

    assert store.versions("popularity") == ["0001", "0002"]
    assert store.active_version("popularity") == "0002"
    assert dict(ModelVersion.objects.values_list("version", "status")) == {
        "0001": "retired",
        "0002": "active",
    }


def test_train_an_unknown_model_is_one_line(store: ModelStore) -> None:
    message = command_error("train", "nosuchmodel", "--no-progress")

    assert message.startswith("unknown model 'nosuchmodel'; choose from ")


def test_train_without_data_is_one_line(store: ModelStore) -> None:
    message = command_error("train", "popularity", "--no-progress")

    assert message == (
        "no listening data in the database: import it first (manage.py import_lastfm DIR)"
    )
    assert store.versions("popularity") == []


# ---- rollback -----------------------------------------------------------------------------------


def test_rollback_flips_back_and_stops_at_the_first_version(
    store: ModelStore, imported: None
) -> None:
    run("train", "popularity", "--no-progress")
    run("train", "popularity", "--no-progress")

    assert run("rollback", "popularity").strip() == "popularity: version 0001 is active"
    assert store.active_version("popularity") == "0001"
    assert (
        command_error("rollback", "popularity") == "model 'popularity' has no version before 0001"
    )
    assert (
        run("rollback", "popularity", "--to", "2").strip() == "popularity: version 0002 is active"
    )
    assert dict(ModelVersion.objects.values_list("version", "status")) == {
        "0001": "retired",
        "0002": "active",
    }


def test_rollback_errors_are_one_line(store: ModelStore, imported: None) -> None:
    assert (
        command_error("rollback", "ease") == "model 'ease' has no active version to roll back from"
    )
    assert command_error("rollback", "nosuchmodel").startswith("unknown model 'nosuchmodel'")
    run("train", "popularity", "--no-progress")
    assert command_error("rollback", "popularity", "--to", "7") == (
        "model 'popularity' has no version 0007"
    )


# ---- evaluate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["weak", "fold-in"])
def test_evaluate_prints_a_table_and_writes_json(
    store: ModelStore, imported: None, tmp_path: Path, protocol: str
) -> None:
    out_file = tmp_path / "results.json"

    out = run(
        "evaluate",
        "--protocol",
        protocol,
        "--model",
        "popularity",
        "ease",
        "--k",
        "5",
        "--seed",
        "7",
        "--tiny",
        "--json",
        str(out_file),
    )

    assert "popularity" in out and "ease" in out
    results = json.loads(out_file.read_text())
    assert results["protocol"] == protocol and results["k"] == 5 and results["seed"] == 7
    assert set(results["results"]) == {"popularity", "ease"}
    assert results["train"] == "database"
    assert store.versions("popularity") == []  # evaluating publishes nothing


def test_evaluate_errors_are_one_line(store: ModelStore, imported: None) -> None:
    message = command_error("evaluate", "--protocol", "weak", "--model", "nosuchmodel")

    assert message.startswith("unknown model 'nosuchmodel'")
    assert command_error("evaluate", "--model", "ease", "--k", "0") == (
        "--k must be a positive integer, got 0"
    )


def test_evaluate_without_data_is_one_line(store: ModelStore) -> None:
    message = command_error("evaluate", "--protocol", "weak", "--model", "popularity")

    assert message.startswith("no listening data in the database")
