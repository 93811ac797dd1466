"""Create, start, stop and promote; the exposure buffer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from experiments.models import Experiment, Exposure
from experiments.services import (
    ArmSpec,
    ExperimentError,
    experiment_create,
    experiment_promote,
    experiment_start,
    experiment_stop,
    exposure_record,
    exposures_flush,
)
from experiments.serving import REVISION_KEY, ArmChoice
from ml.artifacts import ModelStore
from recommender.models import ModelVersion, User
from tests.experiments.helpers import arms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = Experiment.Status


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " | ".join(exc.value.messages)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (arms(split=50)[:1], "at least two arms"),
        (
            [{**a, "is_control": True} for a in arms()],
            "exactly one arm must be the control (found 2)",
        ),
        (
            [{**a, "weight": 60} for a in arms()],
            "must add up to 100 percent (they add up to 120)",
        ),
        ([{**a, "name": "same"} for a in arms()], "arm names must differ"),
        (arms(treatment="0007"), "model 'hybrid' has no version 0007"),
    ],
)
def test_create_rejects_a_split_that_makes_no_sense(
    fake_store: Path, specs: list[ArmSpec], message: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        experiment_create(name="bad", arms=specs)

    assert message in _messages(exc)
    assert not Experiment.objects.exists()


def test_create_normalises_versions(fake_store: Path) -> None:
    experiment = experiment_create(name="ab", arms=arms(control="1", treatment="2"))

    assert experiment.status == Status.DRAFT
    assert sorted(experiment.arms.values_list("model_version", flat=True)) == ["0001", "0002"]


def test_start_and_stop_bump_the_revision_and_every_listener(
    fake_store: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    listener = UserFactory()
    before = listener.recs_generation
    experiment = experiment_create(name="ab", arms=arms())

    with django_capture_on_commit_callbacks(execute=True):
        started = experiment_start(experiment=experiment)
    revision = cache.get(REVISION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        stopped = experiment_stop(experiment=started)

    assert started.status == Status.RUNNING and started.started_at is not None
    assert stopped.status == Status.STOPPED and stopped.stopped_at is not None
    assert revision is not None and cache.get(REVISION_KEY) != revision
    assert User.objects.get(pk=listener.pk).recs_generation == before + 2


def test_one_running_experiment_per_model(fake_store: Path) -> None:
    experiment_start(experiment=experiment_create(name="first", arms=arms()))
    second = experiment_create(name="second", arms=arms())

    with pytest.raises(ExperimentError, match="first already runs on hybrid"):
        experiment_start(experiment=second)

    second.refresh_from_db()
    assert second.status == Status.DRAFT


def test_the_database_refuses_a_second_running_one_too(fake_store: Path) -> None:
    experiment_start(experiment=experiment_create(name="first", arms=arms()))
    second = experiment_create(name="second", arms=arms())
    second.status = Status.RUNNING
    second.started_at = second.created_at

    with pytest.raises(ValidationError, match="another experiment on this model"):
        second.full_clean()


@pytest.mark.parametrize(
    ("operation", "status", "message"),
    [
        (experiment_start, Status.RUNNING, "only a draft starts"),
        (experiment_stop, Status.DRAFT, "only a running one stops"),
        (experiment_promote, Status.DRAFT, "never ran"),
    ],
)
def test_state_changes_in_the_wrong_state_are_refused(
    fake_store: Path, operation: Callable[..., Any], status: str, message: str
) -> None:
    experiment = experiment_create(name="ab", arms=arms())
    if status == Status.RUNNING:
        experiment = experiment_start(experiment=experiment)

    with pytest.raises(ExperimentError, match=message):
        operation(experiment=experiment)


def test_start_revalidates_the_arms(fake_store: Path) -> None:
    experiment = experiment_create(name="ab", arms=arms())
    experiment.arms.filter(name="treatment").update(model_version="0009")

    with pytest.raises(ValidationError, match="no version 0009"):
        experiment_start(experiment=experiment)


def test_promote_flips_the_active_version(two_hybrids: list[str], settings: Any) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    treatment = experiment.arms.get(name="treatment")

    row = experiment_promote(experiment=experiment, arm=treatment)

    experiment.refresh_from_db()
    assert (row.name, row.version, row.status) == ("hybrid", "0002", ModelVersion.Status.ACTIVE)
    assert ModelVersion.objects.get(name="hybrid", version="0001").status == "retired"
    assert ModelStore(settings.ML_STORE_DIR).active_version("hybrid") == "0002"
    assert experiment.status == Status.STOPPED and experiment.winner == treatment


def test_promote_needs_a_winner(two_hybrids: list[str], settings: Any) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))

    with pytest.raises(ExperimentError, match="no arm beats the control significantly"):
        experiment_promote(experiment=experiment)

    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING  # the stop was rolled back with the rest
    assert ModelStore(settings.ML_STORE_DIR).active_version("hybrid") == "0001"


def test_promote_uses_the_chosen_winner_of_a_stopped_experiment(
    two_hybrids: list[str], settings: Any
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    experiment = experiment_stop(experiment=experiment)
    experiment.winner = experiment.arms.get(name="treatment")
    experiment.save()

    row = experiment_promote(experiment=experiment)

    assert row.version == "0002"
    assert ModelStore(settings.ML_STORE_DIR).active_version("hybrid") == "0002"


def _choice(experiment: Experiment, arm: str = "treatment") -> ArmChoice:
    found = experiment.arms.get(name=arm)
    return ArmChoice(experiment.pk, experiment.name, found.pk, found.name, found.model_version)


def test_exposures_write_once_per_listener_then_buffer(
    fake_store: Path, django_assert_num_queries: Callable[..., Any]
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    choice, listener = _choice(experiment), UserFactory()

    exposure_record(choice=choice, user_id=listener.pk)
    first = Exposure.objects.get()
    with django_assert_num_queries(0):
        for _ in range(4):
            exposure_record(choice=choice, user_id=listener.pk)
    assert Exposure.objects.get().responses == 1
    assert exposures_flush() == 4

    exposure = Exposure.objects.get()
    assert (exposure.arm.name, exposure.user, exposure.responses) == ("treatment", listener, 5)
    assert exposure.first_seen_at == first.first_seen_at
    assert exposure.last_seen_at > first.last_seen_at


def test_a_listener_seen_by_another_process_is_counted_on(fake_store: Path) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    choice, listener = _choice(experiment), UserFactory()
    Exposure.objects.create(experiment=experiment, arm_id=choice.arm_id, user=listener, responses=7)

    exposure_record(choice=choice, user_id=listener.pk)

    assert Exposure.objects.get().responses == 8


def test_the_buffer_flushes_by_count_and_when_no_experiment_runs(
    fake_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from experiments import services

    monkeypatch.setattr(services, "FLUSH_RESPONSES", 3)
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    choice, listeners = _choice(experiment), [UserFactory(), UserFactory()]
    for listener in listeners:
        exposure_record(choice=choice, user_id=listener.pk)
    for _ in range(3):  # the third buffered response flushes
        exposure_record(choice=choice, user_id=listeners[0].pk)
    exposure_record(choice=choice, user_id=listeners[1].pk)

    assert sorted(Exposure.objects.values_list("responses", flat=True)) == [1, 4]
    exposure_record(choice=None, user_id=listeners[1].pk)  # the experiment stopped meanwhile
    assert sorted(Exposure.objects.values_list("responses", flat=True)) == [2, 4]
