"""Reads: percentiles from the minute rows, business metrics, model versions, samples."""

from __future__ import annotations
