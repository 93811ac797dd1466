"""The hybrid's online blend weights: one ``BlendBandit`` per hybrid version.

The database row is the truth (updated under a row lock, so concurrent feedback never loses an
update); a revision number in the cache tells every process to re-read it, so an update is used
by the next request anywhere. Operators snapshot, restore and reset it (admin actions and
``manage.py bandit``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from audotics.errors import ApplicationError
from ml.hybrid.bandit import BlendBandit
from ml.hybrid.estimator import HybridRecommender
from recommender.models import BanditSnapshot, BanditState

REVISION_KEY = "recs:bandit:rev"
#: reward of each feedback kind (play-through and likes are wins; skips and dislikes losses)
REWARDS = {"like": 1.0, "play": 1.0, "skip": 0.0, "dislike": 0.0}

_lock = threading.Lock()
_current: dict[str, Any] = {}


class BanditError(ApplicationError):
    code = "bandit_error"


def _new(model: HybridRecommender) -> BlendBandit:
    prior = {label: list(w.values()) for label, w in model.weights_by_bucket().items()}
    return BlendBandit(
        model.member_names,
        prior,
        explore=float(getattr(settings, "HYBRID_BANDIT_EXPLORE", 0.1)),
        learning_rate=float(getattr(settings, "HYBRID_BANDIT_LEARNING_RATE", 0.1)),
    )


def _from_row(model: HybridRecommender, row: BanditState | None) -> BlendBandit:
    if row is None:
        return _new(model)
    return BlendBandit.from_json(json.dumps(row.state))


def bandit_revision() -> int:
    return int(cache.get(REVISION_KEY) or 0)


def _bump_revision() -> None:
    try:
        cache.incr(REVISION_KEY)
    except ValueError:
        cache.set(REVISION_KEY, 1, None)


def bandit_get(*, model: HybridRecommender, version: str, revision: int) -> BlendBandit:
    """This process's bandit for ``version``, re-read when the shared revision moved."""
    found = _current.get("bandit")
    if found is not None and _current.get("key") == (version, revision):
        return found  # type: ignore[no-any-return]
    with _lock:
        row = BanditState.objects.filter(model_version=version).first()
        bandit = _from_row(model, row)
        _current.update(bandit=bandit, key=(version, revision))
    return bandit


def bandit_weights(
    *, model: HybridRecommender, version: str, revision: int, bucket: str
) -> dict[str, float]:
    """The weights one request is served with (sometimes an exploratory draw)."""
    bandit = bandit_get(model=model, version=version, revision=revision)
    with _lock:
        return bandit.sample(bucket)


@transaction.atomic
def bandit_update(
    *,
    model: HybridRecommender,
    version: str,
    bucket: str,
    parts: Mapping[str, float],
    reward: float,
) -> dict[str, float]:
    """Apply one feedback event to the stored weights of ``bucket``; returns the new weights."""
    row = BanditState.objects.select_for_update().filter(model_version=version).first()
    bandit = _from_row(model, row)
    weights = bandit.update(bucket, parts, reward)
    if row is None:
        row = BanditState(model_version=version, state=bandit.snapshot())
    row.state = bandit.snapshot()
    row.updates += 1
    row.full_clean()
    row.save()
    _bump_revision()
    transaction.on_commit(_bump_revision)
    return weights


@transaction.atomic
def bandit_snapshot_create(*, version: str, reason: str = "") -> BanditSnapshot:
    row = BanditState.objects.filter(model_version=version).first()
    if row is None:
        raise BanditError(f"hybrid version {version} has no online weights yet")
    snapshot = BanditSnapshot(model_version=version, state=row.state, reason=reason)
    snapshot.full_clean()
    snapshot.save()
    return snapshot


@transaction.atomic
def bandit_restore(*, snapshot_id: int) -> BanditState:
    """Roll the online weights of the snapshot's version back to it."""
    snapshot = BanditSnapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise BanditError(f"no bandit snapshot {snapshot_id}")
    row, _ = BanditState.objects.select_for_update().get_or_create(
        model_version=snapshot.model_version, defaults={"state": snapshot.state}
    )
    row.state = snapshot.state
    row.save()
    _bump_revision()
    transaction.on_commit(_bump_revision)
    return row


@transaction.atomic
def bandit_reset(*, version: str) -> int:
    """Back to the offline weights of ``version`` (a snapshot of the old state is kept)."""
    row = BanditState.objects.select_for_update().filter(model_version=version).first()
    if row is None:
        return 0
    BanditSnapshot.objects.create(model_version=version, state=row.state, reason="before reset")
    row.delete()
    _bump_revision()
    transaction.on_commit(_bump_revision)
    return 1
