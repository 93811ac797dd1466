"""Spotify connections, sync cursors and what was ingested, kept apart from the catalogue.

The catalogue (``recommender``) keeps one ``Track`` per recording and one ``Artist`` per
normalised name. What only Spotify knows (alias track ids, ISRCs, artist ids, which user's data
brought a row in, top lists, saved tracks, playlist ownership) lives here, so disconnecting can
delete every Spotify-derived row of a user and nothing else (Spotify's developer policy).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recommender.models import Artist, Playlist, Track


class SpotifyConnection(models.Model):
    """A user's link to their Spotify account; the OAuth tokens are encrypted at rest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spotify_connection"
    )
    spotify_user_id = models.CharField(max_length=255, unique=True)
    display_name = models.CharField(max_length=255, blank=True)
    product = models.CharField(max_length=32, blank=True, help_text="premium, free, ...")
    scope = models.TextField(blank=True)
    tokens = models.TextField(help_text="Fernet-encrypted OAuth token JSON (never shown)")
    token_expires_at = models.DateTimeField()
    connected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} ↔ spotify:{self.spotify_user_id}"


class SyncCursor(models.Model):
    """How far a user's resource has been ingested, so the next sync asks only for what is new."""

    class Resource(models.TextChoices):
        RECENTLY_PLAYED = "recently_played", "Recently played (after, ms)"
        SAVED_TRACKS = "saved_tracks", "Saved tracks (newest added_at)"
        TOP_ARTISTS = "top_artists", "Top artists (last fetched)"
        TOP_TRACKS = "top_tracks", "Top tracks (last fetched)"
        PLAYLISTS = "playlists", "Playlists (last fetched)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    resource = models.CharField(max_length=24, choices=Resource.choices)
    spotify_user_id = models.CharField(max_length=255, help_text="the account it belongs to")
    value = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "resource"], name="synccursor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.resource} = {self.value}"


class SyncRun(models.Model):
    """One sync of a user's Spotify data: what it brought in, and why it stopped if it failed."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "-started_at"])]

    def __str__(self) -> str:
        return f"sync {self.pk} of {self.user_id}: {self.status}"


class SpotifyArtist(models.Model):
    """A Spotify artist id and the catalogue artist it names."""

    spotify_id = models.CharField(max_length=32, unique=True)
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="spotify_ids")
    created_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="set when this user's Spotify data created the catalogue artist",
    )

    def __str__(self) -> str:
        return f"spotify:artist:{self.spotify_id} → {self.artist_id}"


class SpotifyTrack(models.Model):
    """A Spotify track id (or a local key for an export row without one) and its ISRC.

    Several ids can name one catalogue track: Spotify lists the same recording on a single, an
    album and a compilation under different ids but one ISRC.
    """

    spotify_id = models.CharField(max_length=32, unique=True)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="spotify_ids")
    isrc = models.CharField(max_length=12, blank=True, db_index=True)
    created_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="set when this user's Spotify data created the catalogue track",
    )

    def __str__(self) -> str:
        return f"spotify:track:{self.spotify_id} → {self.track_id}"


class SpotifyPlaylist(models.Model):
    """A playlist in a user's Spotify library, and whether this user's sync created the row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="spotify_links")
    owner_spotify_id = models.CharField(max_length=255, blank=True)
    is_owner = models.BooleanField(default=False)
    snapshot_id = models.CharField(max_length=128, blank=True)
    created_playlist = models.BooleanField(default=False)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "playlist"], name="spotifyplaylist_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} has {self.playlist_id}"


class TopItem(models.Model):
    """A user's Spotify top artist or top track at a rank, for one time range."""

    class Kind(models.TextChoices):
        ARTIST = "artist", "Artist"
        TRACK = "track", "Track"

    class TimeRange(models.TextChoices):
        SHORT = "short_term", "About 4 weeks"
        MEDIUM = "medium_term", "About 6 months"
        LONG = "long_term", "About a year"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    time_range = models.CharField(max_length=12, choices=TimeRange.choices)
    rank = models.PositiveSmallIntegerField()
    artist = models.ForeignKey(Artist, null=True, blank=True, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, null=True, blank=True, on_delete=models.CASCADE)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "time_range", "rank"], name="topitem_unique_rank"
            ),
            models.CheckConstraint(
                condition=Q(kind="artist", artist__isnull=False, track__isnull=True)
                | Q(kind="track", track__isnull=False, artist__isnull=True),
                name="topitem_kind_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} top {self.kind} #{self.rank} ({self.time_range})"


class SavedTrack(models.Model):
    """A track in a user's Spotify library ("Liked Songs")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, on_delete=models.CASCADE)
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="savedtrack_unique"),
        ]
        indexes = [models.Index(fields=["user", "-added_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} saved {self.track_id}"
