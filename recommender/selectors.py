"""Read-only queries over the catalogue and listening data."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Sum

from audotics.errors import NotFound
from groups.models import Friendship, ListeningGroup
from recommender.models import (
    Artist,
    ArtistPlayCount,
    ArtistTag,
    Genre,
    ListenerProfile,
    ListeningEvent,
    Playlist,
    Tag,
    Track,
    TrackMood,
    User,
    UserTagAssignment,
)


@dataclass(frozen=True)
class CatalogueCounts:
    tracks: int
    artists: int
    linked_artists: int
    genres: int
    playlists: int
    tags: int
    listeners: int
    artist_plays: int
    total_play_count: int
    tag_assignments: int
    friendships: int
    mood_labels: int

    @property
    def is_empty(self) -> bool:
        return self.tracks == 0 and self.listeners == 0


def catalogue_counts() -> CatalogueCounts:
    plays = ArtistPlayCount.objects.aggregate(rows=Count("id"), total=Sum("play_count"))
    return CatalogueCounts(
        tracks=Track.objects.count(),
        artists=Artist.objects.count(),
        linked_artists=linked_artist_list().count(),
        genres=Genre.objects.count(),
        playlists=Playlist.objects.count(),
        tags=Tag.objects.count(),
        listeners=User.objects.filter(profile__source=ListenerProfile.Source.LASTFM).count(),
        artist_plays=plays["rows"] or 0,
        total_play_count=plays["total"] or 0,
        tag_assignments=UserTagAssignment.objects.count(),
        friendships=Friendship.objects.count(),
        mood_labels=TrackMood.objects.filter(source=TrackMood.Source.LABEL).count(),
    )


def linked_artist_list() -> QuerySet[Artist]:
    """Artists that Last.fm listeners know *and* that have playable catalogue tracks."""
    return Artist.objects.filter(lastfm_id__isnull=False, tracks__isnull=False).distinct()


def genre_list_with_track_counts() -> QuerySet[Genre]:
    return (
        Genre.objects.filter(parent__isnull=True)
        .annotate(track_count=Count("tracks", distinct=True))
        .order_by("-track_count", "name")
    )


def top_artist_list(*, limit: int = 12) -> QuerySet[Artist]:
    """Artists with the most Last.fm listeners, with their catalogue track counts."""
    return (
        Artist.objects.annotate(
            listeners=Count("play_counts", distinct=True),
            track_count=Count("tracks", distinct=True),
        )
        .filter(listeners__gt=0)
        .order_by("-listeners", "name")[:limit]
    )


def top_tag_list(*, limit: int = 20) -> QuerySet[Tag]:
    return (
        Tag.objects.annotate(uses=Sum("artisttag__count"))
        .filter(uses__gt=0)
        .order_by("-uses", "name")[:limit]
    )


def popular_track_list(*, limit: int = 10) -> QuerySet[Track]:
    return (
        Track.objects.select_related("artist")
        .filter(~Q(popularity=None))
        .order_by("-popularity", "name")[:limit]
    )


def artist_tag_list(*, artist: Artist) -> QuerySet[ArtistTag]:
    return ArtistTag.objects.filter(artist=artist).select_related("tag").order_by("-count")


def track_list(
    *, query: str = "", genre: str | None = None, mood: str | None = None
) -> QuerySet[Track]:
    """Tracks matching a search (name, artist or album), a genre and a predicted/labelled mood."""
    qs = Track.objects.select_related("artist", "prediction")
    if query:
        qs = qs.filter(
            Q(name__icontains=query)
            | Q(artist__name__icontains=query)
            | Q(album_name__icontains=query)
        )
    if genre:
        qs = qs.filter(genres__name=genre)
    if mood:
        qs = qs.filter(moods__mood=mood)
    return qs.distinct().order_by(F("popularity").desc(nulls_last=True), "name", "pk")


def track_get(*, spotify_id: str) -> Track:
    """One track by Spotify id, with what its detail page shows; NotFound when absent."""
    track = (
        Track.objects.select_related("artist", "audio_features", "prediction")
        .prefetch_related("genres", "moods")
        .filter(spotify_id=spotify_id)
        .first()
    )
    if track is None:
        raise NotFound(f"no track with Spotify id {spotify_id!r}")
    return track


def listener_get(*, user_id: int) -> User:
    """A user with their listener profile (created empty on first use: a new sign-up has none)."""
    user = User.objects.select_related("profile").get(pk=user_id)
    if not hasattr(user, "profile"):
        ListenerProfile.objects.get_or_create(user=user)
        user = User.objects.select_related("profile").get(pk=user_id)
    return user


def listener_play_total(*, user: User) -> int:
    """Plays we know of: Last.fm play counts plus timestamped listening events."""
    counts = ArtistPlayCount.objects.filter(user=user).aggregate(n=Sum("play_count"))["n"] or 0
    return int(counts) + ListeningEvent.objects.filter(user=user).count()


def group_get(*, group_id: int) -> ListeningGroup:
    group = ListeningGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound(f"no group {group_id}")
    return group
