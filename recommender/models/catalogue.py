from __future__ import annotations

from django.db import models
from django.db.models import Q

from recommender.models.base import TimestampedModel


class Genre(TimestampedModel):
    """A catalogue genre (6) or sub-genre (24, each with its parent)."""

    name = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="subgenres"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(TimestampedModel):
    """A Last.fm free-text tag."""

    lastfm_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    name = models.CharField(max_length=255, db_index=True)

    def __str__(self) -> str:
        return self.name


class Artist(TimestampedModel):
    """One artist, whether Last.fm listeners know them, the track catalogue does, or both.

    ``name_key`` (normalised name) is the bridge between the two sources.
    """

    name = models.CharField(max_length=512)
    name_key = models.CharField(max_length=512, db_index=True)
    lastfm_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    lastfm_url = models.URLField(max_length=512, blank=True)
    picture_url = models.URLField(max_length=512, blank=True)
    tags: models.ManyToManyField[Tag, ArtistTag] = models.ManyToManyField(
        Tag, through="ArtistTag", related_name="artists"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ArtistTag(models.Model):
    """How many Last.fm users gave ``artist`` the tag ``tag`` (derived from assignments)."""

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["artist", "tag"], name="artisttag_unique"),
            models.CheckConstraint(condition=Q(count__gte=1), name="artisttag_count_positive"),
        ]
        indexes = [models.Index(fields=["tag", "-count"])]

    def __str__(self) -> str:
        return f"{self.artist} · {self.tag} ({self.count})"


class Track(TimestampedModel):
    spotify_id = models.CharField(max_length=22, unique=True)
    name = models.CharField(max_length=512)
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="tracks")
    album_spotify_id = models.CharField(max_length=22, blank=True)
    album_name = models.CharField(max_length=512, blank=True)
    release_date = models.DateField(null=True, blank=True)
    release_year = models.PositiveSmallIntegerField(null=True, blank=True)
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    genres: models.ManyToManyField[Genre, TrackGenre] = models.ManyToManyField(
        Genre, through="TrackGenre", related_name="tracks"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(popularity__lte=100) | Q(popularity__isnull=True),
                name="track_popularity_0_100",
            ),
        ]
        indexes = [models.Index(fields=["-popularity"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} — {self.artist.name}"


# Audio descriptors that Spotify defines on [0, 1].
UNIT_AUDIO_FIELDS = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)


class AudioFeatures(models.Model):
    """Spotify-style audio descriptors of a track, from the public catalogue (not the API)."""

    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="audio_features")
    danceability = models.FloatField()
    energy = models.FloatField()
    key = models.SmallIntegerField()
    loudness = models.FloatField()
    mode = models.SmallIntegerField(
        null=True, blank=True, help_text="1 major, 0 minor; blank when unknown"
    )
    speechiness = models.FloatField()
    acousticness = models.FloatField()
    instrumentalness = models.FloatField()
    liveness = models.FloatField()
    valence = models.FloatField()
    tempo = models.FloatField()
    time_signature = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "audio features"
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{f}__gte": 0.0, f"{f}__lte": 1.0}), name=f"audio_{f}_unit"
                )
                for f in UNIT_AUDIO_FIELDS
            ),
            models.CheckConstraint(condition=Q(key__gte=-1, key__lte=11), name="audio_key_range"),
            models.CheckConstraint(
                condition=Q(mode__in=[0, 1]) | Q(mode__isnull=True), name="audio_mode_binary"
            ),
            models.CheckConstraint(condition=Q(tempo__gte=0), name="audio_tempo_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"features of {self.track_id}"


class TrackGenre(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE)
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["track", "genre"], name="trackgenre_unique")]
        indexes = [models.Index(fields=["genre", "track"])]

    def __str__(self) -> str:
        return f"{self.track_id} · {self.genre_id}"


class Playlist(TimestampedModel):
    spotify_id = models.CharField(max_length=22, unique=True)
    name = models.CharField(max_length=255)
    tracks: models.ManyToManyField[Track, PlaylistTrack] = models.ManyToManyField(
        Track, through="PlaylistTrack", related_name="playlists"
    )

    def __str__(self) -> str:
        return self.name


class PlaylistTrack(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE)
    track = models.ForeignKey(Track, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["playlist", "track"], name="playlisttrack_unique")
        ]
        indexes = [models.Index(fields=["track", "playlist"])]

    def __str__(self) -> str:
        return f"{self.playlist_id} · {self.track_id}"


class Mood(models.TextChoices):
    HAPPY = "happy", "Happy"
    SAD = "sad", "Sad"
    ENERGETIC = "energetic", "Energetic"
    CALM = "calm", "Calm"


class TrackMood(TimestampedModel):
    """A track's mood: a curated label, or the mood detector's prediction with its probability."""

    class Source(models.TextChoices):
        LABEL = "label", "Curated label"
        MODEL = "model", "Mood detector"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="moods")
    source = models.CharField(max_length=8, choices=Source.choices)
    mood = models.CharField(max_length=12, choices=Mood.choices)
    probability = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "source"], name="trackmood_one_per_source"),
            models.CheckConstraint(
                condition=Q(probability__gte=0.0, probability__lte=1.0),
                name="trackmood_probability_unit",
            ),
        ]
        indexes = [models.Index(fields=["mood", "source"])]

    def __str__(self) -> str:
        return f"{self.track_id}: {self.mood} ({self.source})"


class TrackPrediction(TimestampedModel):
    """The content model's predicted genre and sub-genre of a track (mood: ``TrackMood``).

    Written in bulk after each content-model training for every catalogue track; serving and the
    admin read these rows instead of running a classifier per request.
    """

    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="prediction")
    genre = models.CharField(max_length=100)
    genre_probability = models.FloatField()
    subgenre = models.CharField(max_length=100, blank=True)
    subgenre_probability = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=8, help_text="content model version")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(genre_probability__gte=0.0, genre_probability__lte=1.0),
                name="trackprediction_probability_unit",
            ),
        ]
        indexes = [models.Index(fields=["genre"])]

    def __str__(self) -> str:
        return f"{self.track_id}: {self.genre} ({self.genre_probability:.0%})"
