"""The database mirror of the model store: one row per published version, for admin and audit."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ModelVersion(models.Model):
    """A version in ``ML_STORE_DIR/<name>/<version>/``; the store's ACTIVE file is the truth.

    ``status`` follows the pointer: ``active`` for the version it names, ``retired`` for one
    that served before, ``candidate`` for a published version never activated (the promotion
    gate's ``gate`` and ``status_reason`` say why), ``failed`` for one that was published but
    did not load back.
    """

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=64, help_text="store name, e.g. user_preference")
    version = models.CharField(max_length=16)
    model_type = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CANDIDATE)
    metrics = models.JSONField(default=dict, blank=True)
    data_fingerprint = models.CharField(max_length=64, blank=True)
    command = models.TextField(blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=1024)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(
        blank=True, help_text="why it was promoted or held (the promotion gate's verdict)"
    )
    gate = models.JSONField(
        default=dict, blank=True, help_text="the promotion gate's checks and figures"
    )

    class Meta:
        ordering = ["name", "-created_at", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="modelversion_unique"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status="active"),
                name="modelversion_one_active_per_name",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "status"]),
            models.Index(fields=["name", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.status})"


class RetrainRun(models.Model):
    """One retrain (scheduled, or ``manage.py retrain``): how it ended, and why if it failed.

    ``held``: it trained and published a version that the promotion gate kept as a candidate
    (``reason`` says why). A run still ``running`` long after it started was killed (a worker
    lost mid-fit); the next run of that model marks it failed. The active version is never
    touched by a failed or held run.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        HELD = "held", "Held as candidate"
        SKIPPED = "skipped", "Skipped: no new events"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=64, help_text="store name, e.g. user_preference")
    trigger = models.CharField(max_length=16, default="command", help_text="schedule or command")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    version = models.CharField(max_length=16, blank=True, help_text="the version it published")
    reason = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["name", "status"])]

    def __str__(self) -> str:
        return f"{self.name} retrain {self.started_at:%Y-%m-%d %H:%M} ({self.status})"
