"""Reads the bias report needs: whom to sample, and the catalogue it is measured against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from recommender.models import (
    Artist,
    ArtistPlayCount,
    FeedbackEvent,
    Genre,
    ListeningEvent,
    Track,
    TrackGenre,
)

ACTIVE_DAYS = 30


@dataclass(frozen=True)
class CatalogueFacts:
    popularity: list[int]
    tracks: int
    artists: int
    genres: int


def _latest_activity(since: datetime, size: int) -> dict[int, datetime]:
    latest: dict[int, datetime] = {}
    plays = ListeningEvent.objects.filter(played_at__gte=since).values("user_id")
    feedback = FeedbackEvent.objects.filter(created_at__gte=since).values("user_id")
    for rows in (
        plays.annotate(last=Max("played_at")).order_by("-last")[:size],
        feedback.annotate(last=Max("created_at")).order_by("-last")[:size],
    ):
        for row in rows:
            user_id, last = int(row["user_id"]), row["last"]
            if user_id not in latest or last > latest[user_id]:
                latest[user_id] = last
    return latest


def listener_sample(*, size: int) -> list[int]:
    """Recently active listeners (latest activity first), topped up with Last.fm listeners."""
    latest = _latest_activity(timezone.now() - timedelta(days=ACTIVE_DAYS), size)
    chosen = sorted(latest, key=lambda pk: (latest[pk], pk), reverse=True)[:size]
    if len(chosen) < size:
        more = (
            ArtistPlayCount.objects.exclude(user_id__in=chosen)
            .values_list("user_id", flat=True)
            .distinct()
            .order_by("user_id")[: size - len(chosen)]
        )
        chosen += [int(pk) for pk in more]
    return chosen


def track_genres(*, spotify_ids: set[str]) -> dict[str, frozenset[str]]:
    """Each track's top-level genres (a sub-genre counts as its parent)."""
    found: dict[str, set[str]] = {}
    rows = TrackGenre.objects.filter(track__spotify_id__in=spotify_ids).values_list(
        "track__spotify_id", "genre__name", "genre__parent__name"
    )
    for sid, name, parent in rows:
        found.setdefault(sid, set()).add(parent or name)
    return {sid: frozenset(names) for sid, names in found.items()}


def catalogue_facts() -> CatalogueFacts:
    return CatalogueFacts(
        popularity=[
            int(p)
            for p in Track.objects.exclude(popularity=None).values_list("popularity", flat=True)
            if p is not None
        ],
        tracks=Track.objects.count(),
        artists=Artist.objects.filter(tracks__isnull=False).distinct().count(),
        genres=Genre.objects.filter(parent=None).count(),
    )
