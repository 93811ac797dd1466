"""What the serving path keeps in the database: the online blend weights and curation rules."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class BanditState(models.Model):
    """The live online blend weights of one hybrid version (``BlendBandit`` JSON)."""

    model_version = models.CharField(max_length=16, unique=True, help_text="hybrid version")
    state = models.JSONField()
    updates = models.PositiveIntegerField(default=0, help_text="feedback events applied")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"hybrid v{self.model_version}: {self.updates} updates"


class BanditSnapshot(models.Model):
    """A saved copy of a bandit state that an operator can roll back to."""

    model_version = models.CharField(max_length=16)
    state = models.JSONField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"snapshot {self.pk} of hybrid v{self.model_version} ({self.reason or 'manual'})"


class CurationRule(models.Model):
    """A curator's rule applied on the serving path to one track, artist or genre.

    ``pin`` puts matching tracks first, ``boost``/``bury`` move them up or down by ``amount``
    (in units of the blended score's standard deviation), ``block`` removes them. A rule with a
    ``group`` applies only to that room; without one, everywhere.
    """

    class Action(models.TextChoices):
        PIN = "pin", "Pin to the top"
        BOOST = "boost", "Boost"
        BURY = "bury", "Bury"
        BLOCK = "block", "Block"

    action = models.CharField(max_length=8, choices=Action.choices)
    track = models.ForeignKey("recommender.Track", null=True, blank=True, on_delete=models.CASCADE)
    artist = models.ForeignKey(
        "recommender.Artist", null=True, blank=True, on_delete=models.CASCADE
    )
    genre = models.ForeignKey("recommender.Genre", null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey(
        "groups.ListeningGroup",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="only in this room; empty: everywhere",
    )
    amount = models.FloatField(default=1.0, help_text="boost or bury strength (score SDs)")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(track__isnull=False, artist__isnull=True, genre__isnull=True)
                    | Q(track__isnull=True, artist__isnull=False, genre__isnull=True)
                    | Q(track__isnull=True, artist__isnull=True, genre__isnull=False)
                ),
                name="curationrule_one_target",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="curationrule_amount_positive"),
        ]

    def __str__(self) -> str:
        target = self.track or self.artist or self.genre
        scope = f" in {self.group}" if self.group_id else ""
        return f"{self.get_action_display()}: {target}{scope}"

    def clean(self) -> None:
        targets = [t for t in (self.track_id, self.artist_id, self.genre_id) if t is not None]
        if len(targets) != 1:
            raise ValidationError("choose exactly one of track, artist or genre")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "must be after starts_at"})
