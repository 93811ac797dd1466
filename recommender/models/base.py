from __future__ import annotations

from django.db import models


class TimestampedModel(models.Model):
    """Audit fields every curator sees read-only in the admin."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
