from __future__ import annotations

from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    """A/B experiments: model versions per arm, stable assignment, per-arm outcomes."""

    name = "experiments"
    default_auto_field = "django.db.models.BigAutoField"
