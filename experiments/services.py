"""Writes of the A/B experiments: create, start, stop, promote, and exposures.

Start, stop and promote bump the experiments' cache revision after commit (every process then
re-reads the running experiment at its next request) and every listener's ``recs_generation``
(one UPDATE: rare operator actions), so no process keeps answering from a copy of a list
served under the old split; the shared result cache's stamps carry the revision too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audotics.errors import ApplicationError
from experiments.models import Arm, Experiment, Exposure
from experiments.selectors import experiment_report
from experiments.serving import REVISION_KEY, ArmChoice
from recommender.models import ModelVersion, User
from recommender.services.model_versions import model_store, model_version_activate, version_id

logger = logging.getLogger(__name__)
Status = Experiment.Status


class ExperimentError(ApplicationError):
    """An experiment cannot change state that way (not a draft, nothing to promote...)."""

    code = "experiment_error"


class ArmSpec(TypedDict):
    name: str
    model_version: str
    weight: int
    is_control: bool


def experiment_revision_bump() -> None:
    """Every process re-reads the running experiments; kept lists are dropped everywhere."""
    try:
        cache.incr(REVISION_KEY)
    except ValueError:
        cache.set(REVISION_KEY, time.time_ns() // 1000, None)
    User.objects.update(recs_generation=F("recs_generation") + 1)


def model_version_exists(*, model: str, version: str) -> bool:
    return version in model_store().versions(model)


def arms_validate(*, model: str, arms: Sequence[ArmSpec]) -> None:
    """The split makes sense: 2+ arms, one control, weights adding up to 100, known versions.

    Raises a :class:`ValidationError` with one message per problem (the admin's inline shows
    them on the form).
    """
    errors: list[str] = []
    if len(arms) < 2:
        errors.append("an experiment needs at least two arms")
    controls = sum(1 for a in arms if a["is_control"])
    if controls != 1:
        errors.append(f"exactly one arm must be the control (found {controls})")
    total = sum(a["weight"] for a in arms)
    if arms and total != 100:
        errors.append(f"the arms' weights must add up to 100 percent (they add up to {total})")
    names = [a["name"] for a in arms]
    if len(set(names)) != len(names):
        errors.append("arm names must differ")
    for arm in arms:
        if not model_version_exists(model=model, version=version_id(arm["model_version"])):
            errors.append(
                f"arm {arm['name']}: model {model!r} has no version {arm['model_version']}"
            )
    if errors:
        raise ValidationError(errors)


def _spec(arm: Arm) -> ArmSpec:
    return ArmSpec(
        name=arm.name, model_version=arm.model_version, weight=arm.weight, is_control=arm.is_control
    )


@transaction.atomic
def experiment_create(
    *, name: str, arms: Sequence[ArmSpec], model: str = "hybrid", description: str = ""
) -> Experiment:
    """A draft experiment with its arms (validated as a whole)."""
    arms_validate(model=model, arms=arms)
    experiment = Experiment(name=name, model=model, description=description)
    experiment.full_clean()
    experiment.save()
    for spec in arms:
        arm = Arm(
            experiment=experiment, **{**spec, "model_version": version_id(spec["model_version"])}
        )
        arm.full_clean()
        arm.save()
    return experiment


def _locked(experiment: Experiment) -> Experiment:
    return Experiment.objects.select_for_update().get(pk=experiment.pk)


@transaction.atomic
def experiment_start(*, experiment: Experiment) -> Experiment:
    """Split the model's traffic between the arms from now on."""
    experiment = _locked(experiment)
    if experiment.status != Status.DRAFT:
        raise ExperimentError(f"{experiment.name} is {experiment.status}: only a draft starts")
    running = Experiment.objects.filter(model=experiment.model, status=Status.RUNNING).first()
    if running is not None:
        raise ExperimentError(
            f"{running.name} already runs on {experiment.model}: stop it first",
            extra={"running": running.name},
        )
    arms_validate(model=experiment.model, arms=[_spec(a) for a in experiment.arms.all()])
    experiment.status = Status.RUNNING
    experiment.started_at = timezone.now()
    experiment.full_clean()
    experiment.save()
    transaction.on_commit(experiment_revision_bump)
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment) -> Experiment:
    """Serve the active version to everybody again; the outcomes stop counting now."""
    experiment = _locked(experiment)
    if experiment.status != Status.RUNNING:
        raise ExperimentError(f"{experiment.name} is {experiment.status}: only a running one stops")
    exposures_flush()
    experiment.status = Status.STOPPED
    experiment.stopped_at = timezone.now()
    experiment.full_clean()
    experiment.save()
    transaction.on_commit(experiment_revision_bump)
    return experiment


@transaction.atomic
def experiment_promote(*, experiment: Experiment, arm: Arm | None = None) -> ModelVersion:
    """Stop the experiment (if it runs) and make an arm's version the active one.

    The arm is ``arm``, else the experiment's chosen ``winner``, else the treatment whose
    positive rate beats the control's significantly. The store's pointer flips last
    (``model_version_activate``): if it fails, nothing here is kept.
    """
    if experiment.status == Status.DRAFT:
        raise ExperimentError(f"{experiment.name} never ran: nothing to promote")
    if experiment.status == Status.RUNNING:
        experiment = experiment_stop(experiment=experiment)
    experiment = _locked(experiment)
    chosen = arm or experiment.winner or experiment_report(experiment=experiment).winner()
    if chosen is None:
        raise ExperimentError(
            f"{experiment.name}: no arm beats the control significantly; "
            "choose the winner on the experiment's page to promote it anyway"
        )
    if chosen.experiment_id != experiment.pk:
        raise ExperimentError(f"arm {chosen.name} is not an arm of {experiment.name}")
    experiment.winner = chosen
    experiment.full_clean()
    experiment.save()
    transaction.on_commit(experiment_revision_bump)
    return model_version_activate(name=experiment.model, version=chosen.model_version)


# ---- exposures: buffered so that serving writes once per listener and process ---------------

FLUSH_SECONDS = 10.0
FLUSH_RESPONSES = 500
MAX_SEEN = 100_000


@dataclass
class _Buffer:
    #: (experiment pk, user pk) -> responses served since the last flush
    pending: dict[tuple[int, int], int]
    total: int = 0
    flushed_at: float = 0.0


_buffer_lock = threading.Lock()
_buffer = _Buffer(pending={}, flushed_at=time.monotonic())


def _exposure_first(choice: ArmChoice, user_id: int, now: datetime) -> None:
    """The listener's first response in this process: create their row or count one more.

    Built from ids the serving path already resolved, so no ``full_clean`` (three queries) on
    the request; the unique constraint settles a race with another process.
    """
    rows = Exposure.objects.filter(experiment_id=choice.experiment_id, user_id=user_id)
    if rows.update(responses=F("responses") + 1, last_seen_at=now):
        return
    try:
        with transaction.atomic():
            Exposure.objects.create(
                experiment_id=choice.experiment_id, arm_id=choice.arm_id, user_id=user_id,
                first_seen_at=now, last_seen_at=now,
            )  # fmt: skip
    except IntegrityError:
        if not rows.update(responses=F("responses") + 1, last_seen_at=now):
            logger.warning("exposure of %s to %s not recorded", user_id, choice.header)


def exposure_record(*, choice: ArmChoice | None, user_id: int) -> None:
    """Count one response served by ``choice`` (None: no experiment; flush what is pending).

    Only a listener's first response in this process writes; later ones are counted in memory
    and written together every ``FLUSH_SECONDS`` or ``FLUSH_RESPONSES``.
    """
    if choice is None:
        if _buffer.total:
            exposures_flush()
        return
    key = (choice.experiment_id, user_id)
    with _buffer_lock:
        seen = key in _buffer.pending
        if seen:
            _buffer.pending[key] += 1
            _buffer.total += 1
        due = _buffer.total >= FLUSH_RESPONSES or (
            _buffer.total > 0 and time.monotonic() - _buffer.flushed_at >= FLUSH_SECONDS
        )
    if not seen:
        _exposure_first(choice, user_id, timezone.now())
        with _buffer_lock:
            due = due or len(_buffer.pending) >= MAX_SEEN
            _buffer.pending.setdefault(key, 0)
    if due:
        exposures_flush()


def exposures_flush() -> int:
    """Write this process's counted responses (one UPDATE per experiment and count)."""
    with _buffer_lock:
        taken = {k: n for k, n in _buffer.pending.items() if n}
        if len(_buffer.pending) >= MAX_SEEN:
            _buffer.pending.clear()  # the next response of each listener writes again
        else:
            _buffer.pending.update(dict.fromkeys(taken, 0))
        _buffer.total = 0
        _buffer.flushed_at = time.monotonic()
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (experiment_id, user_id), n in taken.items():
        groups[(experiment_id, n)].append(user_id)
    now = timezone.now()
    for (experiment_id, n), user_ids in groups.items():
        Exposure.objects.filter(experiment_id=experiment_id, user_id__in=user_ids).update(
            responses=F("responses") + n, last_seen_at=now
        )
    return sum(taken.values())


def exposures_forget() -> None:
    """Drop the buffer without writing (tests: their database is rolled back)."""
    with _buffer_lock:
        _buffer.pending.clear()
        _buffer.total = 0
        _buffer.flushed_at = time.monotonic()
