"""Writes: flushing latency histograms, computing and caching the bias report."""

from __future__ import annotations

from monitoring.services.bias import bias_report_compute, bias_report_get
from monitoring.services.dashboard import dashboard_collect
from monitoring.services.latency import latency_flush, latency_flush_if_due, latency_prune

__all__ = [
    "bias_report_compute",
    "bias_report_get",
    "dashboard_collect",
    "latency_flush",
    "latency_flush_if_due",
    "latency_prune",
]
