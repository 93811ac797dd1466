"""What a listener tells us: preferences (seed artists and genres, explicit filter) and feedback."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from audotics.errors import ApplicationError, PermissionDenied
from groups.models import ListeningGroup
from ml.data.names import normalize_name
from recommender.models import Artist, FeedbackEvent, Genre, ListenerProfile, Track, User
from recommender.serving.learning import feedback_learn
from recommender.serving.state import listener_generation_bump_on_commit


class UnknownNames(ApplicationError):
    """Names that match no catalogue row; ``extra["fields"]`` says which field and names."""

    code = "validation_error"


def _artists_by_name(names: Sequence[str]) -> list[Artist]:
    found: list[Artist] = []
    missing: list[str] = []
    for name in names:
        artist = (
            Artist.objects.filter(name_key=normalize_name(name)).order_by("lastfm_id", "pk").first()
        )
        if artist is None:
            missing.append(name)
        elif artist not in found:
            found.append(artist)
    if missing:
        raise UnknownNames(
            f"not in the catalogue: {', '.join(missing)}",
            extra={"fields": {"seed_artists": [f"unknown artist {n!r}" for n in missing]}},
        )
    return found


def _genres_by_name(names: Sequence[str]) -> list[Genre]:
    found: list[Genre] = []
    missing: list[str] = []
    for name in dict.fromkeys(names):
        genre = Genre.objects.filter(name__iexact=name.strip()).first()
        if genre is None:
            missing.append(name)
        elif genre not in found:
            found.append(genre)
    if missing:
        raise UnknownNames(
            f"unknown genres: {', '.join(missing)}",
            extra={"fields": {"seed_genres": [f"unknown genre {n!r}" for n in missing]}},
        )
    return found


@transaction.atomic
def listener_preferences_update(
    *,
    user: User,
    seed_artists: Sequence[str] | None = None,
    seed_genres: Sequence[str] | None = None,
    allow_explicit: bool | None = None,
) -> ListenerProfile:
    """Replace the given preferences (``None`` leaves one as it is); nothing changes on error."""
    profile, _ = ListenerProfile.objects.get_or_create(user=user)
    artists = _artists_by_name(seed_artists) if seed_artists is not None else None
    genres = _genres_by_name(seed_genres) if seed_genres is not None else None
    if allow_explicit is not None:
        profile.allow_explicit = allow_explicit
    profile.full_clean()
    profile.save()
    if artists is not None:
        profile.seed_artists.set(artists)
    if genres is not None:
        profile.seed_genres.set(genres)
    listener_generation_bump_on_commit(user_id=user.pk)
    return profile


@transaction.atomic
def feedback_record(
    *,
    user: User,
    track: Track,
    kind: str,
    value: int = 1,
    group: ListeningGroup | None = None,
) -> FeedbackEvent:
    """Store one signal; feedback in a group needs membership of that group."""
    if group is not None and not group.memberships.filter(user=user).exists():
        raise PermissionDenied("only members can give feedback in this group")
    event = FeedbackEvent(user=user, track=track, kind=kind, value=value, group=group)
    event.full_clean()
    event.save()
    feedback_learn(event=event)
    return event
