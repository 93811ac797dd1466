"""Model versions: the store's ACTIVE pointer plus the database rows that mirror it.

The store (``ml.artifacts.ModelStore`` at ``settings.ML_STORE_DIR``) is the truth about which
version serves; ``ModelVersion`` rows are its audit trail and the admin's view. Every write here
changes the database first and flips the pointer as the last step inside the transaction, so a
failed flip rolls the rows back and the two never disagree about the active version.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audotics.errors import ApplicationError, NotFound
from ml.artifacts import VERSION_DIGITS, ModelStore, ModelStoreError, Version
from ml.base import ModelLoadError
from ml.models import MODELS
from recommender.models import ModelVersion

if TYPE_CHECKING:
    from recommender.services.promotion import PromotionDecision

#: Django-facing model names -> ``ml.models`` registry names. Any registry name is also accepted
#: as itself (``als``, ``ease``, ...), so operators can train and serve the peers.
ML_NAMES: dict[str, str] = {"user_preference": "ncf", "group": "group"}


class ModelNotFound(NotFound):
    code = "model_not_found"


class ModelVersionError(ApplicationError):
    """A version cannot be activated or rolled back to (nothing older, does not load)."""

    code = "model_version_error"


def model_store() -> ModelStore:
    return ModelStore(settings.ML_STORE_DIR)


def model_name_resolve(*, name: str) -> tuple[str, str]:
    """``(store name, ml registry name)`` for a Django-facing or registry model name.

    ``ncf`` and ``user_preference`` are one model and share the store folder ``user_preference``.
    """
    if name in ML_NAMES:
        return name, ML_NAMES[name]
    for django_name, ml_name in ML_NAMES.items():
        if name == ml_name:
            return django_name, ml_name
    if name in MODELS:
        return name, name
    choices = ", ".join(sorted({*ML_NAMES, *MODELS}))
    raise ModelNotFound(f"unknown model {name!r}; choose from {choices}")


def version_id(text: str) -> str:
    """``"3"`` -> ``"0003"``: operators may type a version without its padding."""
    text = text.strip()
    return f"{int(text):0{VERSION_DIGITS}d}" if text.isdigit() else text


@transaction.atomic
def model_version_record(
    *,
    name: str,
    version: str,
    manifest: dict[str, Any],
    path: Path | str,
    status: str = ModelVersion.Status.CANDIDATE,
) -> ModelVersion:
    """Create or update the row mirroring one stored version, from its manifest."""
    row = ModelVersion.objects.filter(name=name, version=version).first()
    if row is None:
        row = ModelVersion(name=name, version=version)
    row.model_type = str(manifest.get("model_type", ""))
    row.metrics = dict(manifest.get("metrics") or {})
    row.data_fingerprint = str(manifest.get("data_fingerprint", ""))
    row.command = str(manifest.get("command", ""))
    row.manifest = manifest
    row.path = str(path)
    row.status = status
    created = manifest.get("created_at")
    if isinstance(created, str):
        row.created_at = dt.datetime.fromisoformat(created)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def model_version_activate(*, name: str, version: str) -> ModelVersion:
    """Make ``version`` the one that serves: retire the active row, flip the store pointer.

    A version published by ``python -m ml`` (no row yet) is recorded from its manifest first.
    """
    store = model_store()
    version = version_id(version)
    try:
        stored = store.get(name, version)
    except ModelStoreError as exc:
        raise ModelNotFound(str(exc)) from None
    except ModelLoadError as exc:
        raise ModelVersionError(str(exc)) from None
    row = ModelVersion.objects.select_for_update().filter(name=name, version=version).first()
    if row is None:
        row = model_version_record(
            name=name, version=version, manifest=stored.manifest, path=stored.path
        )
    now = timezone.now()
    ModelVersion.objects.filter(name=name, status=ModelVersion.Status.ACTIVE).exclude(
        pk=row.pk
    ).update(status=ModelVersion.Status.RETIRED)
    row.status = ModelVersion.Status.ACTIVE
    row.activated_at = now
    row.full_clean()
    row.save()
    try:
        store.activate(name, version)  # loads the version first; the flip is the last write
    except (ModelLoadError, ModelStoreError) as exc:
        raise ModelVersionError(f"model {name!r} version {version} cannot serve: {exc}") from None
    if name == "content":
        # Serving reads the stored per-track predictions: they follow the active version
        # (after a training, a rollback or an admin activation alike), in the same transaction.
        from ml.content.estimator import ContentRecommender
        from recommender.services.content import track_predictions_write

        model = store.load(name, version)
        assert isinstance(model, ContentRecommender), model.model_type
        track_predictions_write(model=model, version=version)
    return row


def model_version_promote(
    *, name: str, published: Version, decision: PromotionDecision | None = None
) -> ModelVersion:
    """Record a freshly published version and make it serve if the promotion gate allows.

    With a ``decision`` that does not promote, the version stays a ``candidate`` with the
    gate's reason and figures on its row, and the active version keeps serving. A version that
    cannot be activated is recorded as ``failed`` and the :class:`ModelVersionError` propagates.
    """
    row = model_version_record(
        name=name, version=published.version, manifest=published.manifest, path=published.path
    )
    if decision is not None:
        row.status_reason = decision.reason
        row.gate = decision.to_dict()
        row.save(update_fields=["status_reason", "gate"])
        if not decision.promote:
            return row
    try:
        return model_version_activate(name=name, version=published.version)
    except ModelVersionError as exc:
        row = model_version_record(
            name=name,
            version=published.version,
            manifest=published.manifest,
            path=published.path,
            status=ModelVersion.Status.FAILED,
        )
        row.status_reason = exc.message
        row.save(update_fields=["status_reason"])
        raise


def _rollback_target(name: str) -> str:
    """The newest version older than the active one that served or could have: not one that
    failed to load, nor a candidate the promotion gate held (it never passed the gate)."""
    store = model_store()
    active = store.active_version(name)
    if active is None:
        raise ModelVersionError(f"model {name!r} has no active version to roll back from")
    skipped = set(
        ModelVersion.objects.filter(
            name=name, status__in=[ModelVersion.Status.FAILED, ModelVersion.Status.CANDIDATE]
        ).values_list("version", flat=True)
    )
    older = [v for v in store.versions(name) if int(v) < int(active) and v not in skipped]
    if not older:
        raise ModelVersionError(f"model {name!r} has no version before {active}")
    return older[-1]


@transaction.atomic
def model_version_rollback(*, name: str, to: str | None = None) -> ModelVersion:
    """Flip back to ``to``, or to the version before the active one (a pointer flip)."""
    target = version_id(to) if to is not None else _rollback_target(name)
    return model_version_activate(name=name, version=target)
