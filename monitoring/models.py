"""Stored latency histograms: one row per minute, kind, name, method and status class."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class LatencyMinute(models.Model):
    """Every process's observations of one minute, added together (``monitoring.histogram``).

    ``kind`` is ``request`` (``name`` is the URL route, with ``method`` and ``status``) or
    ``timing`` (``name`` is a name given to ``monitoring.timing.observe``; method and status are
    blank). ``counts`` holds ``histogram.SLOTS`` integers: underflow, the log-spaced buckets,
    overflow.
    """

    class Kind(models.TextChoices):
        REQUEST = "request", "Request"
        TIMING = "timing", "Timing"

    minute = models.DateTimeField(help_text="start of the minute (UTC)")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=255, help_text="URL route or timing name")
    method = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=3, blank=True, help_text="status class, e.g. 2xx")
    n = models.PositiveIntegerField(default=0)
    total_seconds = models.FloatField(default=0.0)
    counts = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "kind", "name", "method", "status"], name="latencyminute_unique"
            ),
            models.CheckConstraint(condition=Q(total_seconds__gte=0), name="latency_total_gte_0"),
        ]
        indexes = [models.Index(fields=["kind", "minute"])]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.kind} {self.method} {self.name} {self.status}"
