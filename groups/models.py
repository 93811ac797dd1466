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
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "group"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} ({self.role})"
