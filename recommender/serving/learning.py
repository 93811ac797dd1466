"""Online learning from one feedback event: the bandit's weights and the listener's state.

The listener's state is rebuilt from the database at the next request (their generation is
bumped after the event commits), which folds the signal into their history. The bandit is
credited with the members' normalised scores of the event's artist, computed on the listener's
state as it was served (the candidates plus that artist), in the request's context bucket.
"""

from __future__ import annotations

import logging

import numpy as np

from recommender.models import FeedbackEvent
from recommender.selectors_content import ModelNotReady
from recommender.serving.bandit import REWARDS, bandit_update
from recommender.serving.hybrid import context_bucket
from recommender.serving.state import (
    generation_key,
    listener_generation,
    listener_generation_bump_on_commit,
    listener_state_get,
)
from recommender.serving.users import history_row, serving_for_user

logger = logging.getLogger(__name__)


def _reward(kind: str, value: int) -> float | None:
    if kind == FeedbackEvent.Kind.VOTE:
        return 1.0 if value > 0 else 0.0
    return REWARDS.get(kind)


def feedback_learn(*, event: FeedbackEvent) -> dict[str, float] | None:
    """Update the online weights from ``event``; returns the bucket's new weights (or None).

    Called inside the transaction that stores the event; the listener's generation is bumped
    on commit. Without a trained hybrid, or for a track whose artist the hybrid does not know,
    only the state changes.
    """
    listener_generation_bump_on_commit(user_id=event.user_id)
    reward = _reward(event.kind, event.value)
    if reward is None:
        return None
    try:
        serving = serving_for_user(user_id=event.user_id)
    except ModelNotReady:
        return None
    from django.core.cache import cache

    col = serving.catalogue.column_of_track.get(event.track.spotify_id)
    if col is None:
        return None
    generation = listener_generation(
        cache.get(generation_key(event.user_id)), user_id=event.user_id
    )
    state = listener_state_get(user_id=event.user_id, generation=generation)
    row = history_row(serving, state)
    cols = np.union1d(serving.server.candidates(row), [col])
    z = serving.model.member_scores_for_columns(row, cols)
    k = int(np.searchsorted(cols, col))
    parts = {name: float(z[m, 0, k]) for m, name in enumerate(serving.model.member_names)}
    group_size = 2 if event.group_id else 1
    _, bucket, _ = context_bucket(serving.model, row.nnz, group_size=group_size)
    return bandit_update(
        model=serving.model, version=serving.version, bucket=bucket, parts=parts, reward=reward
    )
