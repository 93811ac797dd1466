"""How well listeners' tastes fit, from the active group model (for ``/api/compatibility/score``).

The model knows imported listeners by their raw id; anyone else (a new sign-up, a guest) is
scored from their play counts in the database, folded in without retraining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from audotics.errors import ApplicationError
from groups.models import ListeningGroup
from groups.selectors import listener_history, listener_raw_id

if TYPE_CHECKING:
    from ml.group.estimator import GroupRecommender
    from recommender.models import User

MODEL_NAME = "group"


class CompatibilityInvalid(ApplicationError):
    code = "compatibility_invalid"


class ModelNotReady(ApplicationError):
    code = "model_not_ready"
    http_status = 503


class CompatibilityPayload(TypedDict):
    score: int
    reasons: list[str]
    shared_artists: list[str]
    shared_tags: list[str]
    shared_moods: list[str]
    disagreement: str | None
    similarities: dict[str, float]
    model_version: str | None


def _model() -> GroupRecommender:
    from ml.base import ModelLoadError
    from ml.group.estimator import GroupRecommender
    from recommender.selectors_ml import model_registry

    registry = model_registry()
    try:
        model = registry.get(MODEL_NAME)
    except ModelLoadError as exc:
        raise ModelNotReady(
            "the group model is not trained yet: run manage.py train group", extra={"why": str(exc)}
        ) from None
    if not isinstance(model, GroupRecommender):
        raise ModelNotReady(f"the active {MODEL_NAME!r} model is a {model.model_type!r} model")
    return model


def _member(model: GroupRecommender, user: User) -> Any:
    """The user's raw id when the model knows it, else their play counts (fold-in)."""
    raw = listener_raw_id(user=user)
    if raw in model.user_index_:
        return raw
    history = listener_history(user=user)
    if not any(item in model.item_index_ for item in history):
        raise CompatibilityInvalid(
            f"{user} has no listening history the group model knows yet",
            extra={"user": user.pk},
        )
    return history


def compatibility_score(
    *, user: User, other: User | None = None, group: ListeningGroup | None = None
) -> CompatibilityPayload:
    """A 0-100 score with readable reasons for ``user`` and ``other``, or ``user`` and a group."""
    if (other is None) == (group is None):
        raise CompatibilityInvalid("give exactly one of another listener or a group")
    model = _model()
    if other is not None:
        if other.pk == user.pk:
            raise CompatibilityInvalid("compatibility needs two different listeners")
        result = model.compatibility(
            _member(model, user), _member(model, other), names=(str(user), str(other))
        )
    else:
        assert group is not None
        members = [m for m in group.members.order_by("pk") if m.pk != user.pk]
        if not members:
            raise CompatibilityInvalid(f"group {group.name!r} has no other member")
        result = model.compatibility_group(
            _member(model, user),
            [_member(model, m) for m in members],
            names=[str(user), *(str(m) for m in members)],
        )
    from recommender.selectors_ml import model_registry

    return CompatibilityPayload(
        score=result.score,
        reasons=list(result.reasons),
        shared_artists=list(result.shared_artists),
        shared_tags=list(result.shared_tags),
        shared_moods=list(result.shared_moods),
        disagreement=result.disagreement,
        similarities={k: round(float(v), 4) for k, v in result.similarities.items()},
        model_version=model_registry().version(MODEL_NAME),
    )
