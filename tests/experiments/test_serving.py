"""GET /api/v1/recommendations/user in an experiment: the arm's version serves, recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from experiments.models import Arm, Experiment, Exposure
from experiments.services import experiment_start, experiment_stop, exposures_flush
from experiments.serving import REVISION_KEY
from recommender.models import BanditState, User
from recommender.serving import hybrid
from recommender.serving.hybrid import serving_get
from recommender.serving.users import serving_for_user, user_recommendations
from tests.experiments.helpers import experiment_for

URL = "/api/v1/recommendations/user"
HEADER = "X-Audotics-Arm"


def _start(experiment: Experiment, capture: Callable[..., Any]) -> Experiment:
    with capture(execute=True):
        return experiment_start(experiment=experiment)


def test_without_an_experiment_nothing_changes(
    two_hybrids: list[str], listener_client: APIClient
) -> None:
    first = listener_client.get(URL, {"n": 5})
    with CaptureQueriesContext(connection) as queries:
        second = listener_client.get(URL, {"n": 5})

    for response in (first, second):
        assert response.status_code == 200
        assert response.json()["experiment"] is None
        assert response.json()["model_versions"] == {"hybrid": "0001"}
        assert HEADER not in response
    assert second.json()["cached"] is True
    # the running experiment was read once per process and revision, not per request
    assert not [q for q in queries.captured_queries if "experiments_" in q["sql"]]
    assert not Exposure.objects.exists()


@pytest.mark.parametrize(("arm", "version"), [("control", "0001"), ("treatment", "0002")])
def test_the_arm_decides_the_version_and_the_response_says_so(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
    arm: str,
    version: str,
) -> None:
    _start(experiment_for(listener.pk, arm), django_capture_on_commit_callbacks)

    first = listener_client.get(URL, {"n": 5})
    second = listener_client.get(URL, {"n": 5})  # from the cache: still says its arm

    for response in (first, second):
        body = response.json()
        assert response.status_code == 200
        assert body["experiment"] == {"name": "hybrid-ab", "arm": arm, "version": version}
        assert body["model_versions"] == {"hybrid": version}
        assert response[HEADER] == f"hybrid-ab/{arm}"
        assert len(body["results"]) == 5
    assert second.json()["cached"] is True
    exposures_flush()
    exposure = Exposure.objects.get()
    assert (exposure.user, exposure.arm.name, exposure.responses) == (listener, arm, 2)


def test_feedback_under_an_arm_recomputes_that_arms_list(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _start(experiment_for(listener.pk, "treatment"), django_capture_on_commit_callbacks)
    top = listener_client.get(URL, {"n": 5}).json()["results"][0]["track"]["spotify_id"]

    listener_client.post("/api/v1/feedback", {"track": top, "kind": "skip"})
    after = listener_client.get(URL, {"n": 5}).json()

    assert after["experiment"]["version"] == "0002" and after["cached"] is False
    assert top not in [r["track"]["spotify_id"] for r in after["results"]]
    assert serving_for_user(user_id=listener.pk).version == "0002"


def test_the_treatment_arm_learns_its_own_bandit(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _start(experiment_for(listener.pk, "treatment"), django_capture_on_commit_callbacks)
    top = listener_client.get(URL, {"n": 5}).json()["results"][0]["track"]["spotify_id"]

    listener_client.post("/api/v1/feedback", {"track": top, "kind": "like"})

    assert list(BanditState.objects.values_list("model_version", flat=True)) == ["0002"]


def test_stop_serves_the_active_version_again_at_once(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    experiment = _start(
        experiment_for(listener.pk, "treatment"), django_capture_on_commit_callbacks
    )
    assert listener_client.get(URL, {"n": 5}).json()["experiment"]["arm"] == "treatment"

    with django_capture_on_commit_callbacks(execute=True):
        experiment_stop(experiment=experiment)
    after = listener_client.get(URL, {"n": 5})

    assert after.json()["experiment"] is None
    assert after.json()["model_versions"] == {"hybrid": "0001"}
    assert HEADER not in after


def test_a_lost_revision_key_rereads_the_experiment(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    listener_client.get(URL, {"n": 5})  # this process now holds "no experiment" for a revision
    experiment = experiment_for(listener.pk, "treatment")
    Experiment.objects.filter(pk=experiment.pk).update(
        status=Experiment.Status.RUNNING, started_at=experiment.created_at
    )  # started without the bump, then the cache lost every key
    User.objects.update(recs_generation=999)
    cache.clear()

    body = listener_client.get(URL, {"n": 5}).json()

    assert body["experiment"]["arm"] == "treatment"
    assert cache.get(REVISION_KEY) is not None


def test_an_arm_whose_version_does_not_load_serves_the_active_one(
    two_hybrids: list[str],
    listener: User,
    listener_client: APIClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    experiment = experiment_for(listener.pk, "treatment")
    _start(experiment, django_capture_on_commit_callbacks)
    # its folder was deleted from the store after the start, say
    Arm.objects.filter(experiment=experiment, name="treatment").update(model_version="0099")

    response = listener_client.get(URL, {"n": 5})

    assert response.status_code == 200
    assert response.json()["experiment"] is None
    assert response.json()["model_versions"] == {"hybrid": "0001"}
    assert not Exposure.objects.exists()


def test_precomputed_lists_follow_the_arm_but_expose_nobody(
    two_hybrids: list[str],
    listener: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _start(experiment_for(listener.pk, "treatment"), django_capture_on_commit_callbacks)

    payload = user_recommendations(user_id=listener.pk, n=5)

    assert payload["model_versions"] == {"hybrid": "0002"}
    assert not Exposure.objects.exists()


def test_versions_are_loaded_once_per_process(two_hybrids: list[str]) -> None:
    active, pinned = serving_get(), serving_get(version="0002")

    assert (active.version, pinned.version) == ("0001", "0002")
    assert serving_get(version="0002") is pinned
    assert serving_get(version="0001") is active
    assert pinned.catalogue is not active.catalogue  # the shared catalogue cache kept 0001's
    assert list(hybrid._pinned) == ["0002"]
