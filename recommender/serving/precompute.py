"""Batch precompute: fill the result cache for recently active listeners (a Celery task).

With Redis as the cache every web process then answers those listeners from the cache; a
listener's own feedback still invalidates their entry at once (their generation moves).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from recommender.models import User
from recommender.selectors_content import ModelNotReady
from recommender.serving.users import user_recommendations

DEFAULT_DAYS = 7
DEFAULT_LIMIT = 2000


def active_listener_ids(*, days: int = DEFAULT_DAYS, limit: int = DEFAULT_LIMIT) -> list[int]:
    """Listeners who played, gave feedback or signed in during the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    active = (
        User.objects.filter(
            Q(feedbackevent__created_at__gte=since)
            | Q(listeningevent__played_at__gte=since)
            | Q(last_login__gte=since)
        )
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(active[:limit])


def recommendations_precompute(*, user_ids: list[int], n: int = 10) -> int:
    """Compute and cache ``n`` recommendations for each listener; returns how many were done."""
    done = 0
    for user_id in user_ids:
        try:
            user_recommendations(user_id=user_id, n=n)
        except ModelNotReady:
            return done
        done += 1
    return done
