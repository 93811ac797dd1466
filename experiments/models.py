"""A/B experiments on the serving path: arms (a model version each), exposures.

An experiment splits listeners between its arms by a stable hash of ``salt:user_id`` (see
``experiments.assignment``), so no table is needed to know a listener's arm. ``Exposure`` rows
say who was actually served by an arm, and since when: the per-arm outcomes count only the
feedback given after a listener's first exposure.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

#: store names an experiment can split (the hybrid serves every listener's list)
SERVED_MODELS = (("hybrid", "hybrid (user recommendations)"),)


def new_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    """A traffic split of one served model between versions, run from the admin."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.SlugField(max_length=64, unique=True, help_text="also sent in X-Audotics-Arm")
    model = models.CharField(max_length=64, choices=SERVED_MODELS, default="hybrid")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    salt = models.CharField(
        max_length=32, default=new_salt, help_text="hash salt: a new salt reshuffles listeners"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        "experiments.Arm",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the arm to promote (default: the one that beats control significantly)",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"],
                condition=Q(status="running"),
                name="experiment_one_running_per_model",
                violation_error_message="another experiment on this model is already running",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(started_at__isnull=False),
                name="experiment_started_has_started_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    def clean(self) -> None:
        winner = self.winner if self.winner_id is not None else None
        if winner is not None and winner.experiment_id != self.pk:
            raise ValidationError({"winner": "the winner must be one of this experiment's arms"})


class Arm(models.Model):
    """One side of the split: a model version and its share of the traffic, in percent."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    name = models.SlugField(max_length=32, help_text="e.g. control, treatment")
    model_version = models.CharField(max_length=16, help_text="a version in the model store")
    weight = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="percent of the listeners; an experiment's arms add up to 100",
    )
    is_control = models.BooleanField(default=False, help_text="the arm the others are compared to")

    class Meta:
        ordering = ["experiment", "-is_control", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="arm_unique_name"),
            models.UniqueConstraint(
                fields=["experiment"],
                condition=Q(is_control=True),
                name="arm_one_control",
                violation_error_message="an experiment has one control arm",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=1, weight__lte=100), name="arm_weight_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model_version}, {self.weight}%)"

    def clean(self) -> None:
        """The version exists in the experiment's model store (``"2"`` reads as ``"0002"``)."""
        from recommender.services.model_versions import model_store, version_id

        self.model_version = version_id(self.model_version)
        linked = self.experiment_id is not None or Arm.experiment.is_cached(self)
        model = self.experiment.model if linked else SERVED_MODELS[0][0]
        if self.model_version not in model_store().versions(model):
            raise ValidationError(
                {"model_version": f"model {model!r} has no version {self.model_version}"}
            )


class Exposure(models.Model):
    """A listener served by an arm: first and last time, and how many responses (buffered)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="exposures")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="experiment_exposures"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    responses = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "user"], name="exposure_unique_user"),
        ]
        indexes = [models.Index(fields=["experiment", "arm"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.arm_id} ({self.responses} responses)"
