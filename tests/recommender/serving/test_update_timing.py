"""Recomputed lists are timed for the monitoring dashboard (recs.update.user / .group)."""

from __future__ import annotations

from typing import Any

from groups.models import ListeningGroup, Membership
from monitoring.recorder import RECORDER, TIMING
from recommender.models import User
from recommender.serving.groups import group_recommendations
from recommender.serving.users import user_recommendations


def _timings() -> dict[str, int]:
    seen: dict[str, int] = {}
    for key, pending in RECORDER.drain().items():
        if key[1] == TIMING:
            seen[key[2]] = seen.get(key[2], 0) + pending.n
    return seen


def test_a_recomputed_listener_list_is_timed_and_a_cached_one_is_not(
    hybrid: None, listener: User
) -> None:
    RECORDER.drain()

    user_recommendations(user_id=listener.pk, n=5)
    user_recommendations(user_id=listener.pk, n=5)  # served from the cache

    assert _timings().get("recs.update.user") == 1


def test_a_recomputed_group_list_is_timed(hybrid_and_group: None, demo_data: Any) -> None:
    people = list(User.objects.filter(profile__lastfm_user_id__isnull=False).order_by("pk")[:3])
    group = ListeningGroup.objects.create(name="Timed", owner=people[0])
    for person in people:
        Membership.objects.create(group=group, user=person)
    RECORDER.drain()

    group_recommendations(group_id=group.pk, n=5)
    group_recommendations(group_id=group.pk, n=5)

    assert _timings().get("recs.update.group") == 1
