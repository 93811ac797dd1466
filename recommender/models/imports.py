from __future__ import annotations

from django.db import models


class ImportRun(models.Model):
    """An audit row per import: what was read, what changed, which rows were skipped and why."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16)
    source = models.CharField(max_length=1024)
    status = models.CharField(max_length=12, choices=Status.choices)
    counts = models.JSONField(default=dict)
    skipped = models.JSONField(default=list, help_text="file:line: reason, at most 200 shown")
    message = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"
