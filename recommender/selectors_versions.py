"""Reads for the curator console: how two model versions differ, and what a list is made of."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from recommender.models import ModelVersion


@dataclass(frozen=True)
class MetricDiff:
    """One metric of a version against a base version (``None`` where one lacks it)."""

    metric: str
    value: float | None
    base: float | None

    @property
    def delta(self) -> float | None:
        if self.value is None or self.base is None:
            return None
        return self.value - self.base

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or not self.base:
            return None
        return delta / abs(self.base)


@dataclass(frozen=True)
class ParamDiff:
    param: str
    value: Any
    base: Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def model_version_base(*, row: ModelVersion) -> ModelVersion | None:
    """What ``row`` is compared with by default: the active version of its model, or, for the
    active one, the version that served before it (the newest older one that is not failed)."""
    if row.status != ModelVersion.Status.ACTIVE:
        return (
            ModelVersion.objects.filter(name=row.name, status=ModelVersion.Status.ACTIVE)
            .exclude(pk=row.pk)
            .first()
        )
    return (
        ModelVersion.objects.filter(name=row.name, created_at__lte=row.created_at)
        .exclude(pk=row.pk)
        .exclude(status=ModelVersion.Status.FAILED)
        .order_by("-created_at", "-version")
        .first()
    )


def model_version_metric_diff(*, row: ModelVersion, base: ModelVersion) -> list[MetricDiff]:
    """Every metric either version recorded, ``row`` against ``base``, in name order."""
    names = sorted({*row.metrics, *base.metrics})
    return [
        MetricDiff(name, _number(row.metrics.get(name)), _number(base.metrics.get(name)))
        for name in names
    ]


def model_version_params_diff(*, row: ModelVersion, base: ModelVersion) -> list[ParamDiff]:
    """The hyperparameters that differ between the two manifests (training configuration)."""
    mine = row.manifest.get("params") or {}
    theirs = base.manifest.get("params") or {}
    return [
        ParamDiff(key, mine.get(key), theirs.get(key))
        for key in sorted({*mine, *theirs})
        if mine.get(key) != theirs.get(key)
    ]
