"""Who listens with whom: friendships, listening groups and their members."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    from recommender.models import User


class Friendship(models.Model):
    """An undirected friendship, stored once with ``user_low_id < user_high_id``."""

    class Source(models.TextChoices):
        LASTFM = "lastfm", "Last.fm import"
        APP = "app", "Audotics"

    user_low = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user_high = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.APP)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high"], name="friendship_unique"),
            models.CheckConstraint(
                condition=Q(user_low__lt=F("user_high")), name="friendship_ordered_pair"
            ),
        ]
        indexes = [models.Index(fields=["user_high", "user_low"])]

    def __str__(self) -> str:
        return f"{self.user_low_id} ↔ {self.user_high_id}"


def _join_code() -> str:
    return secrets.token_urlsafe(6)[:8].upper().replace("-", "X").replace("_", "Y")


class ListeningGroup(models.Model):
    """People who listen together: a standing friend group or a live room."""

    class Kind(models.TextChoices):
        FRIENDS = "friends", "Friend group"
        ROOM = "room", "Listening room"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ROOM)
    code = models.CharField(max_length=8, unique=True, default=_join_code)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    max_members = models.PositiveSmallIntegerField(default=50)
    is_active = models.BooleanField(default=True)
    # A live room's settings (see groups/services/rooms.py); friend groups keep the defaults.
    policy = models.CharField(max_length=32, default="learned")
    allow_explicit = models.BooleanField(default=True)
    locked = models.BooleanField(default=False, help_text="nobody new may join")
    add_cap = models.PositiveSmallIntegerField(
        default=3, help_text="tracks a member may have waiting in the queue at once"
    )
    veto_budget = models.PositiveSmallIntegerField(
        default=2, help_text="tracks a member may veto per session"
    )
    # Playback, in server time: progress = position_ms + (now - resumed_at) while playing.
    playing = models.ForeignKey(
        "QueueEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_playing = models.BooleanField(default=False)
    position_ms = models.PositiveIntegerField(default=0)
    resumed_at = models.DateTimeField(null=True, blank=True)
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="listening_groups"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_members__gte=2, max_members__lte=500),
                name="group_max_members_2_500",
            ),
        ]
        indexes = [models.Index(fields=["kind", "is_active"])]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        HOST = "host", "Host"
        MEMBER = "member", "Member"

    group = models.ForeignKey(ListeningGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    muted = models.BooleanField(default=False, help_text="may listen, not add, vote or react")
    last_seen = models.DateTimeField(null=True, blank=True, help_text="presence: a socket is open")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "group"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} ({self.role})"


class MemberLedger(models.Model):
    """What one person did and felt in a room; kept after they leave (recap, fairness)."""

    group = models.ForeignKey(ListeningGroup, on_delete=models.CASCADE, related_name="ledgers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    satisfaction = models.FloatField(default=0.0, help_text="sum of per-track satisfaction")
    tracks_heard = models.PositiveIntegerField(default=0)
    vetoes_used = models.PositiveSmallIntegerField(default=0)
    banned = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="ledger_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}: {self.harmony:.0f}"

    @property
    def harmony(self) -> float:
        """0-100: the member's mean satisfaction so far (50 before anything played)."""
        if not self.tracks_heard:
            return 50.0
        return max(0.0, min(100.0, 100.0 * self.satisfaction / self.tracks_heard))


class QueueEntry(models.Model):
    """A track in a room: waiting, playing or done, added by a member or by autofill."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PLAYING = "playing", "Playing"
        PLAYED = "played", "Played"
        SKIPPED = "skipped", "Skipped"
        REMOVED = "removed", "Removed"

    group = models.ForeignKey(ListeningGroup, on_delete=models.CASCADE, related_name="entries")
    track = models.ForeignKey("recommender.Track", on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    score = models.FloatField(default=0.0)
    why = models.JSONField(default=dict, blank=True, help_text="explanation and members' feelings")
    reactions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["group", "state"])]
        verbose_name_plural = "queue entries"

    def __str__(self) -> str:
        return f"{self.track_id} in {self.group_id} ({self.state})"


class QueueVote(models.Model):
    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "user"], name="queuevote_unique"),
            models.CheckConstraint(condition=Q(value__in=[-1, 1]), name="queuevote_value"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.value:+d} on {self.entry_id}"


class SkipVote(models.Model):
    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="skip_votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "user"], name="skipvote_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} skips {self.entry_id}"


class SessionPlaylist(models.Model):
    """A room's session saved as a playlist by one member (the recap's "save")."""

    group = models.ForeignKey(ListeningGroup, on_delete=models.CASCADE, related_name="playlists")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_playlists"
    )
    name = models.CharField(max_length=200)
    tracks = models.JSONField(default=list, help_text="[{spotify_id, name, artist, added_by}]")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
