"""The curator console: the recommendation inspector and model versions with metric diffs."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from groups.models import ListeningGroup, Membership
from recommender.models import ModelVersion, User
from recommender.services.training import model_train
from recommender.serving.groups import group_recommendations
from recommender.serving.users import user_recommendations

INSPECTOR = "/admin/inspector/"


@pytest.fixture
def band(demo_data: None, listener: User) -> ListeningGroup:
    others = list(
        User.objects.filter(profile__lastfm_user_id__isnull=False).exclude(pk=listener.pk)[:2]
    )
    group = ListeningGroup.objects.create(name="Inspect band", owner=listener)
    for person in (listener, *others):
        Membership.objects.create(group=group, user=person)
    return group


def test_the_inspector_shows_the_served_list_with_each_models_part(
    hybrid: None, listener: User, admin_client: Client
) -> None:
    served = user_recommendations(user_id=listener.pk, n=5)

    page = admin_client.get(INSPECTOR, {"user": listener.username, "n": 5})

    html = page.content.decode()
    assert page.status_code == 200
    assert f"listener {listener.username}" in html
    for row in served["results"]:
        assert escape(row["track"]["name"]) in html
    for model in served["results"][0]["parts"]:
        assert f">{model}</th>" in html
    assert "confidence" in html and escape(served["results"][0]["explanation"]) in html
    assert f"hybrid {served['model_versions']['hybrid']}" in html


def test_the_inspector_shows_a_groups_list_with_member_feelings(
    hybrid_and_group: None, band: ListeningGroup, admin_client: Client
) -> None:
    served = group_recommendations(group_id=band.pk, n=5)

    page = admin_client.get(INSPECTOR, {"room": band.pk, "n": 5, "policy": "learned"})

    html = page.content.decode()
    assert page.status_code == 200 and "group Inspect band" in html
    assert escape(served["results"][0]["track"]["name"]) in html
    assert "predicted satisfaction" in html
    assert served["results"][0]["members"][0]["feeling"] in html


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"user": "nobody-here", "n": 5}, "no listener with id or username"),
        ({"n": 5}, "Pick one listener or one group."),
        ({"user": "1", "n": 500}, "less than or equal to 50"),
    ],
)
def test_the_inspector_explains_bad_input(
    demo_data: None, admin_client: Client, query: dict[str, Any], error: str
) -> None:
    page = admin_client.get(INSPECTOR, query)

    assert page.status_code == 200 and error in page.content.decode()


def test_the_inspector_is_staff_only(demo_data: None, client: Client, listener: User) -> None:
    client.force_login(listener)

    page = client.get(INSPECTOR, {"user": listener.username})

    assert page.status_code == 302 and "/admin/login/" in page["Location"]


def test_a_held_version_shows_its_reason_and_metric_diff(
    demo_data: None, settings: Any, tmp_path: Any, admin_client: Client
) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    model_train(name="user_preference", tiny=True)
    worse = {"epochs": 1, "learning_rate": 1e-9}
    held = model_train(name="user_preference", tiny=True, params=worse)
    assert held.status == ModelVersion.Status.CANDIDATE

    page = admin_client.get(reverse("admin:recommender_modelversion_change", args=[held.pk]))

    html = page.content.decode()
    assert "below active 0001" in html
    assert "0002 (candidate)" in html and "0001 (active)" in html
    assert 'class="num worse"' in html  # ndcg went down
    assert "changed parameter" in html and "learning_rate" in html
    assert "Trained on the same data" in html


def test_two_versions_compare_side_by_side(
    demo_data: None, settings: Any, tmp_path: Any, admin_client: Client
) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    first = model_train(name="user_preference", tiny=True)
    second = model_train(name="user_preference", tiny=True)
    changelist = reverse("admin:recommender_modelversion_changelist")

    chosen = admin_client.post(
        changelist, {"action": "compare_versions", "_selected_action": [first.pk, second.pk]}
    )
    page = admin_client.get(chosen["Location"])

    assert chosen.status_code == 302
    html = page.content.decode()
    assert page.status_code == 200 and "user_preference 0002 against user_preference 0001" in html
    assert "Same hyperparameters." in html and "ndcg" in html
    one = admin_client.post(
        changelist, {"action": "compare_versions", "_selected_action": [first.pk]}, follow=True
    )
    assert "Select exactly two versions" in one.content.decode()


def test_the_admin_index_links_the_consoles(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()

    assert INSPECTOR in html and "/monitoring/" in html and "Model versions" in html
