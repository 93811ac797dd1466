from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from recommender.models.base import TimestampedModel


class User(AbstractUser):
    """A person using Audotics: a signed-up listener, an imported Last.fm listener or a guest."""

    display_name = models.CharField(max_length=150, blank=True)
    #: bumped with the cache's generation counter by the listener's feedback, preference
    #: updates, syncs and curation changes: read with the user at authentication, it lets a
    #: process trust its own copy of a cached list (recommender/serving/users.py)
    recs_generation = models.PositiveBigIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return self.display_name or self.username


class ListenerProfile(TimestampedModel):
    class Source(models.TextChoices):
        SIGNUP = "signup", "Signed up"
        LASTFM = "lastfm", "Last.fm import"
        SPOTIFY = "spotify", "Spotify"
        GUEST = "guest", "Room guest"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SIGNUP)
    lastfm_user_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    allow_explicit = models.BooleanField(default=True)
    seed_genres = models.ManyToManyField("recommender.Genre", blank=True, related_name="+")
    seed_artists = models.ManyToManyField("recommender.Artist", blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["source"])]

    def __str__(self) -> str:
        return f"profile of {self.user}"
