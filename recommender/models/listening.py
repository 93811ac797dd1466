from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recommender.models.catalogue import Artist, Tag, Track


class ArtistPlayCount(models.Model):
    """How often a user played an artist (Last.fm's top-50 artists per user)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="play_counts")
    play_count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "artist"], name="artistplaycount_unique"),
            models.CheckConstraint(condition=Q(play_count__gte=1), name="artistplaycount_positive"),
        ]
        indexes = [models.Index(fields=["artist", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} played {self.artist_id} x{self.play_count}"


class UserTagAssignment(models.Model):
    """A user gave an artist a tag on a day (Last.fm's dated tag assignments)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    tagged_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "artist", "tag"], name="usertag_unique")
        ]
        indexes = [models.Index(fields=["artist", "tag"]), models.Index(fields=["tag"])]

    def __str__(self) -> str:
        return f"{self.user_id} tagged {self.artist_id} {self.tag_id}"


class ListeningEvent(models.Model):
    """One timestamped play of a track (Spotify history, room playback, data exports)."""

    class Source(models.TextChoices):
        SPOTIFY = "spotify", "Spotify recently played"
        EXPORT = "export", "Spotify data export"
        ROOM = "room", "Listening room"
        APP = "app", "Audotics app"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, on_delete=models.CASCADE)
    played_at = models.DateTimeField()
    ms_played = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)

    class Meta:
        constraints = [
            # The same play arriving twice (re-sync, re-import) is one play.
            models.UniqueConstraint(
                fields=["user", "track", "played_at"], name="listeningevent_unique"
            ),
        ]
        indexes = [models.Index(fields=["user", "-played_at"]), models.Index(fields=["track"])]

    def __str__(self) -> str:
        return f"{self.user_id} played {self.track_id} at {self.played_at:%Y-%m-%d %H:%M}"


class FeedbackEvent(models.Model):
    """An explicit or implicit signal about a track, alone or in a listening group."""

    class Kind(models.TextChoices):
        PLAY = "play", "Play"
        SKIP = "skip", "Skip"
        LIKE = "like", "Like"
        DISLIKE = "dislike", "Dislike"
        VOTE = "vote", "Vote"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.SmallIntegerField(default=1)
    group = models.ForeignKey(
        "groups.ListeningGroup", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="vote", value__in=[-1, 1]) | (~Q(kind="vote") & Q(value=1)),
                name="feedback_vote_is_plus_or_minus_one",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["track", "kind"]),
            models.Index(fields=["group", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.track_id}"
