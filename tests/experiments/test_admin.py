"""The experiments admin: arms inline, validation as form errors, live outcomes, actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from experiments.models import Experiment, Exposure
from experiments.services import experiment_create, experiment_start
from ml.artifacts import ModelStore
from recommender.models import FeedbackEvent, ModelVersion
from tests.experiments.helpers import arms
from tests.factories import FeedbackEventFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Experiment.Status
CHANGELIST = reverse("admin:experiments_experiment_changelist")
ADD = reverse("admin:experiments_experiment_add")


def _change(experiment: Experiment, view: str = "change") -> str:
    return reverse(f"admin:experiments_experiment_{view}", args=[experiment.pk])


def _form(name: str = "ab", *, start_now: bool = False, **arm_fields: Any) -> dict[str, Any]:
    """The add form's POST data: two arms (control 0001, treatment 0002), 50/50 by default."""
    data: dict[str, Any] = {
        "name": name, "model": "hybrid", "description": "", "salt": "s1",
        "arms-TOTAL_FORMS": "2", "arms-INITIAL_FORMS": "0",
        "arms-MIN_NUM_FORMS": "2", "arms-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    defaults = {
        0: {"name": "control", "model_version": "0001", "weight": "50", "is_control": "on"},
        1: {"name": "treatment", "model_version": "0002", "weight": "50"},
    }
    for index, fields in defaults.items():
        fields = {**fields, **arm_fields.get(f"arm{index}", {})}
        data.update({f"arms-{index}-{key}": value for key, value in fields.items() if value})
    if start_now:
        data["start_now"] = "on"
    return data


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_adding_an_experiment_with_its_arms(admin_client: Client, fake_store: Path) -> None:
    response = admin_client.post(ADD, _form())

    assert response.status_code == 302, response.context["errors"]
    experiment = Experiment.objects.get()
    assert experiment.status == Status.DRAFT
    assert [(a.name, a.model_version, a.weight) for a in experiment.arms.all()] == [
        ("control", "0001", 50),
        ("treatment", "0002", 50),
    ]


@pytest.mark.parametrize(
    ("arm_fields", "message"),
    [
        ({"arm1": {"weight": "60"}}, "add up to 100 percent (they add up to 110)"),
        ({"arm1": {"model_version": "0042"}}, "no version 0042"),
        ({"arm1": {"is_control": "on"}}, "exactly one arm must be the control (found 2)"),
        ({"arm0": {"is_control": ""}}, "exactly one arm must be the control (found 0)"),
        ({"arm1": {"weight": "0"}}, "greater than or equal to 1"),
    ],
)
def test_a_split_that_makes_no_sense_is_a_form_error(
    admin_client: Client, fake_store: Path, arm_fields: dict[str, Any], message: str
) -> None:
    response = admin_client.post(ADD, _form(**arm_fields))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Experiment.objects.exists()


def test_start_now_with_another_running_is_a_form_error(
    admin_client: Client, fake_store: Path
) -> None:
    experiment_start(experiment=experiment_create(name="first", arms=arms()))

    response = admin_client.post(ADD, _form("second", start_now=True))

    assert response.status_code == 200
    assert "first already runs on hybrid: stop it before starting another" in (
        response.content.decode()
    )
    assert not Experiment.objects.filter(name="second").exists()


def test_start_now_starts_it(admin_client: Client, fake_store: Path) -> None:
    response = admin_client.post(ADD, _form(start_now=True), follow=True)

    assert Experiment.objects.get().status == Status.RUNNING
    assert "ab is running." in _messages(response)


def _action(client: Client, action: str, *experiments: Experiment) -> Any:
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [e.pk for e in experiments]},
        follow=True,
    )


def test_start_and_stop_actions(admin_client: Client, fake_store: Path) -> None:
    experiment = experiment_create(name="ab", arms=arms())

    started = _action(admin_client, "start_selected", experiment)
    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING
    assert "ab is running." in _messages(started)

    stopped = _action(admin_client, "stop_selected", experiment)
    experiment.refresh_from_db()
    assert experiment.status == Status.STOPPED
    assert "ab is stopped." in _messages(stopped)


def test_action_errors_are_messages(admin_client: Client, fake_store: Path) -> None:
    experiment_start(experiment=experiment_create(name="first", arms=arms()))
    second = experiment_create(name="second", arms=arms())

    response = _action(admin_client, "start_selected", second)

    assert response.status_code == 200
    assert "first already runs on hybrid: stop it first" in _messages(response)
    second.refresh_from_db()
    assert second.status == Status.DRAFT


def test_running_arms_are_read_only(admin_client: Client, fake_store: Path) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))

    page = admin_client.get(_change(experiment)).content.decode()

    assert 'name="arms-0-weight"' not in page  # shown, not editable
    assert 'name="salt"' not in page
    assert 'name="winner"' in page


def _outcomes(experiment: Experiment) -> None:
    """Control: 10 plays, 30 skips; treatment: 30 plays, 10 skips (ten listeners each, four
    reactions per listener, listeners differing as real ones do)."""
    track = TrackFactory()
    seen = timezone.now() - dt.timedelta(days=1)
    spread = {
        "control": (0, 1, 2, 1, 0, 1, 2, 1, 1, 1),
        "treatment": (3, 2, 4, 3, 3, 2, 4, 3, 3, 3),
    }
    for arm, listeners in spread.items():
        for plays in listeners:
            user = UserFactory()
            Exposure.objects.create(
                experiment=experiment, arm=experiment.arms.get(name=arm), user=user,
                first_seen_at=seen, responses=2,
            )  # fmt: skip
            for kind, n in (("play", plays), ("skip", 4 - plays)):
                for _ in range(n):
                    FeedbackEventFactory(user=user, track=track, kind=kind)
    assert FeedbackEvent.objects.count() == 80


def test_the_change_page_shows_the_outcomes_and_the_verdicts(
    admin_client: Client, fake_store: Path
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    _outcomes(experiment)

    page = admin_client.get(_change(experiment)).content.decode()
    listing = admin_client.get(CHANGELIST).content.decode()

    assert 'id="experiment-report"' in page
    assert "25.0%" in page and "75.0%" in page  # the arms' positive rates
    assert "+50.0 pt" in page  # treatment minus control
    assert "higher" in page and "(better)" in page
    assert "Winning arm: <strong>treatment</strong>" in page
    assert "Promote the winning arm" in page and "Stop" in page
    assert "10 users" in listing and "positive 75.0% (higher, p &lt; 0.0001)" in listing


def test_the_buttons_post_to_the_services(admin_client: Client, fake_store: Path) -> None:
    experiment = experiment_create(name="ab", arms=arms())

    assert admin_client.get(_change(experiment, "start")).status_code == 405
    response = admin_client.post(_change(experiment, "start"), follow=True)

    assert response.redirect_chain[-1][0] == _change(experiment)
    assert "ab is running." in _messages(response)
    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING


def test_promote_action_flips_the_active_version(
    admin_client: Client, two_hybrids: list[str], settings: Any
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))
    _outcomes(experiment)

    response = _action(admin_client, "promote_selected", experiment)

    assert "ab is stopped; hybrid version 0002 is active." in _messages(response)
    experiment.refresh_from_db()
    assert experiment.status == Status.STOPPED and experiment.winner is not None
    assert experiment.winner.name == "treatment"
    assert ModelVersion.objects.get(name="hybrid", status="active").version == "0002"
    assert ModelStore(settings.ML_STORE_DIR).active_version("hybrid") == "0002"


def test_promote_without_a_winner_is_a_message(
    admin_client: Client, two_hybrids: list[str], settings: Any
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))

    response = admin_client.post(_change(experiment, "promote"), follow=True)

    assert any("no arm beats the control significantly" in m for m in _messages(response))
    assert ModelStore(settings.ML_STORE_DIR).active_version("hybrid") == "0001"


def test_a_running_experiment_is_stopped_before_it_is_deleted(
    admin_client: Client, fake_store: Path
) -> None:
    experiment = experiment_start(experiment=experiment_create(name="ab", arms=arms()))

    assert admin_client.get(_change(experiment, "delete")).status_code == 403
    assert "deletelink" not in admin_client.get(_change(experiment)).content.decode()
