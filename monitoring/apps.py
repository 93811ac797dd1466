from __future__ import annotations

import atexit

from django.apps import AppConfig
from django.core.signals import request_finished
from django.test.signals import setting_changed


class MonitoringConfig(AppConfig):
    """Request latency, recommendation freshness, model, business and bias metrics."""

    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring.conf import settings_changed
        from monitoring.services.latency import latency_flush_at_exit, latency_flush_if_due

        request_finished.connect(latency_flush_if_due, dispatch_uid="monitoring-flush")
        setting_changed.connect(settings_changed, dispatch_uid="monitoring-settings")
        atexit.register(latency_flush_at_exit)
