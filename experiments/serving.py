"""Which arm serves a listener: read per request, from a per-process copy of the experiment.

The running experiment of a model is read from the database once per process and revision: a
cache counter (``REVISION_KEY``) that start, stop and promote bump, fetched by the serving path
in the same ``get_many`` as its other counters, so a request pays no extra round trip. A lost
key (a flushed or restarted cache) is replaced by a fresh token that no process has seen, so
every process reads the database again instead of trusting an old copy. The arm itself is a
hash (``experiments.assignment``): no lookup at all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TypedDict

from django.core.cache import cache

from experiments.assignment import arm_index, hash_point
from experiments.models import Experiment

REVISION_KEY = "experiments:rev"
ARM_HEADER = "X-Audotics-Arm"


class ExperimentArm(TypedDict):
    """The ``experiment`` object of a recommendation response."""

    name: str
    arm: str
    version: str


@dataclass(frozen=True)
class ArmChoice:
    """A listener's arm of the running experiment, and the model version it serves."""

    experiment_id: int
    experiment: str
    arm_id: int
    arm: str
    version: str

    def payload(self) -> ExperimentArm:
        return ExperimentArm(name=self.experiment, arm=self.arm, version=self.version)

    @property
    def header(self) -> str:
        return f"{self.experiment}/{self.arm}"


@dataclass(frozen=True)
class RunningExperiment:
    id: int
    name: str
    salt: str
    arms: tuple[ArmChoice, ...]
    weights: tuple[int, ...]

    def choose(self, user_id: int) -> ArmChoice:
        point = hash_point(salt=self.salt, user_id=user_id)
        return self.arms[arm_index(weights=self.weights, point=point)]


_lock = threading.Lock()
#: model -> (revision, its running experiment or None), this process's copy
_running: dict[str, tuple[int, RunningExperiment | None]] = {}


def experiment_revision(found: object) -> int:
    """The revision from a cache read (``found``); a missing key gets a fresh token first."""
    if found is not None:
        return int(str(found))
    cache.add(REVISION_KEY, time.time_ns() // 1000, None)
    return int(cache.get(REVISION_KEY) or 0)


def _read(model: str) -> RunningExperiment | None:
    found = (
        Experiment.objects.filter(model=model, status=Experiment.Status.RUNNING)
        .prefetch_related("arms")
        .first()
    )
    if found is None:
        return None
    arms = sorted(found.arms.all(), key=lambda a: (not a.is_control, a.pk))
    choices = tuple(
        ArmChoice(found.pk, found.name, arm.pk, arm.name, arm.model_version) for arm in arms
    )
    if not choices:
        return None
    return RunningExperiment(
        found.pk, found.name, found.salt, choices, tuple(a.weight for a in arms)
    )


def running_experiment(*, model: str, revision: int) -> RunningExperiment | None:
    """The running experiment on ``model`` (read once per process and revision)."""
    found = _running.get(model)
    if found is not None and found[0] == revision:
        return found[1]
    with _lock:
        found = _running.get(model)
        if found is None or found[0] != revision:
            found = (revision, _read(model))
            _running[model] = found
    return found[1]


def arm_choice(*, user_id: int, model: str, revision: int) -> ArmChoice | None:
    """The listener's arm, or None when no experiment runs on ``model``."""
    running = running_experiment(model=model, revision=revision)
    return running.choose(user_id) if running is not None else None


def experiment_caches_clear() -> None:
    """Forget this process's copies (tests); the exposure buffer too."""
    from experiments.services import exposures_forget

    with _lock:
        _running.clear()
    exposures_forget()
