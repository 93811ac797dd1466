"""The promotion gate: a freshly trained version serves only if it is safe and no worse.

Every training path (``manage.py train``, ``retrain``, the beat schedules) publishes the new
version inactive, then asks :func:`promotion_decide`:

1. **Safety**, on the model that would serve (the refit on all data): every validation metric is
   finite; the top-10 lists of ``sample_users`` seeded training listeners are non-empty and
   finite; their popularity bias (mean share of training listeners who know a recommended item)
   is at most ``max_popularity_ratio`` of the 10 most popular items' (the ceiling a popularity
   recommender reaches, so the bound means the same on any data size), and their catalogue
   coverage at least ``min_coverage``.
2. **No regression on the same split**: the candidate's validation ``metric`` may be at most
   ``tolerance`` (relative) below the active version's. The validation split is seeded from the
   data, so when the active version was measured on the same data (same fingerprint) under the
   same protocol, its recorded figure is compared directly. Otherwise the active version's
   configuration (its manifest's ``params``) is refitted on the candidate's split by the
   trainer's ``baseline`` callback and measured there; when that configuration equals the
   candidate's, the refit would be the candidate itself, so its own figure is the baseline.

A version that fails either stays a ``candidate`` with the reason recorded on its row (and on
its retrain run); the active version keeps serving. ``force`` skips the regression check only:
an operator may accept a worse model on purpose, never an unsafe one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from ml.artifacts import jsonable
from ml.base import BaseRecommender
from recommender.services.model_versions import model_store

TOP_N = 10
SAMPLE_SEED = 7

#: Refits the active version's configuration on the candidate's split and returns its metrics.
Baseline = Callable[[dict[str, Any]], Mapping[str, float]]


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's verdict; ``checks`` is JSON-ready and stored on the version's row."""

    promote: bool
    reason: str
    checks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, **self.checks}


def _policy() -> dict[str, Any]:
    return dict(settings.PROMOTION)


def safety_checks(
    *, model: BaseRecommender, metrics: Mapping[str, float], policy: Mapping[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """Failures (empty when safe) and the measured figures, on ``model`` as it would serve."""
    failures = [
        f"validation metric {k} is {v}"
        for k, v in metrics.items()
        if v is None or not math.isfinite(float(v))
    ]
    train = model.train_matrix_.tocsr()
    n_users, n_items = train.shape
    rng = np.random.default_rng(SAMPLE_SEED)
    size = min(int(policy["sample_users"]), n_users)
    rows = np.sort(rng.choice(n_users, size=size, replace=False)) if size else np.array([], int)
    users = model.user_ids_[rows]
    nan = sum(
        int(np.isnan(model.score(users[s : s + 100], model.item_ids_)).sum())
        for s in range(0, len(users), 100)
    )
    ids, scores = model.recommend(users, n=min(TOP_N, n_items))
    served = np.isfinite(scores)  # -inf: nothing left to recommend (or a NaN ranked out)
    empty = int((~served.any(axis=1)).sum())
    popularity = np.asarray((train > 0).sum(axis=0)).ravel() / max(n_users, 1)
    cols = model.item_columns(ids[served]) if served.any() else np.array([], int)
    pop_bias = float(popularity[cols].mean()) if cols.size else 0.0
    ceiling = float(np.sort(popularity)[-TOP_N:].mean()) if n_items else 0.0
    ratio = pop_bias / ceiling if ceiling else 0.0
    coverage = float(np.unique(cols).size / max(n_items, 1))
    figures = {
        "sample_users": int(size),
        "nan_scores": nan,
        "empty_lists": empty,
        "pop_bias": round(pop_bias, 5),
        "popularity_ceiling": round(ceiling, 5),
        "popularity_ratio": round(ratio, 4),
        "coverage": round(coverage, 5),
    }
    if nan:
        failures.append(f"{nan} NaN scores for the sample listeners")
    if empty:
        failures.append(f"no recommendations for {empty} of {size} sample listeners")
    if ratio > float(policy["max_popularity_ratio"]):
        failures.append(
            f"popularity bias {pop_bias:.3f} is {ratio:.0%} of the most popular items' "
            f"{ceiling:.3f}, above the bound {float(policy['max_popularity_ratio']):.0%}"
        )
    if coverage < float(policy["min_coverage"]):
        failures.append(
            f"catalogue coverage {coverage:.4f} below the bound {policy['min_coverage']:.4f}"
        )
    return failures, figures


def _same(a: Any, b: Any) -> bool:
    return json.dumps(jsonable(a), sort_keys=True) == json.dumps(jsonable(b), sort_keys=True)


def promotion_decide(
    *,
    name: str,
    model: BaseRecommender,
    metrics: Mapping[str, float],
    data_fingerprint: str,
    validation: Mapping[str, Any],
    baseline: Baseline,
    force: bool = False,
) -> PromotionDecision:
    """Decide whether the freshly fitted ``model`` (published, inactive) may serve ``name``."""
    policy = _policy()
    failures, safety = safety_checks(model=model, metrics=metrics, policy=policy)
    checks: dict[str, Any] = {"safety": safety, "policy": policy}
    if failures:
        return PromotionDecision(False, "unsafe: " + "; ".join(failures), checks)
    store = model_store()
    active = store.active_version(name)
    if active is None:
        return PromotionDecision(True, "first version: safety checks passed", checks)
    if force:
        return PromotionDecision(True, "forced: regression check skipped by the operator", checks)
    key = str(policy["metric"])
    if key not in metrics:
        return PromotionDecision(True, f"no {key} in the candidate's metrics to compare", checks)
    manifest = store.manifest(name, active)
    old_metrics = manifest.get("metrics") or {}
    old_validation = (manifest.get("extra") or {}).get("validation")
    if manifest.get("data_fingerprint") == data_fingerprint and _same(old_validation, validation):
        how = f"recorded by {active} on the same data and split"
        reference = old_metrics.get(key)
    elif _same(manifest.get("params"), model.get_params()):
        how = f"{active}'s configuration is the candidate's: on this split it scores the same"
        reference = metrics[key]
    else:
        how = f"{active}'s configuration refitted on the candidate's split"
        reference = baseline(dict(manifest.get("params") or {})).get(key)
    candidate = float(metrics[key])
    regression: dict[str, Any] = {
        "metric": key,
        "active_version": active,
        "candidate": round(candidate, 6),
        "baseline": None if reference is None else round(float(reference), 6),
        "baseline_source": how,
        "tolerance": policy["tolerance"],
    }
    checks["regression"] = regression
    if reference is None or not math.isfinite(float(reference)):
        return PromotionDecision(True, f"active {active} has no {key} to compare", checks)
    reference = float(reference)
    drop = (reference - candidate) / abs(reference) if reference else reference - candidate
    regression["relative_drop"] = round(drop, 6)
    if drop > float(policy["tolerance"]):
        return PromotionDecision(
            False,
            f"{key} {candidate:.4f} is {drop:.1%} below active {active}'s {reference:.4f} "
            f"({how}; tolerance {float(policy['tolerance']):.1%})",
            checks,
        )
    return PromotionDecision(
        True, f"{key} {candidate:.4f} vs active {active}'s {reference:.4f} ({how})", checks
    )
