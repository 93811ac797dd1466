"""The loaded hybrid of this process, its two-stage server and the request's context bucket."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils import timezone

from ml.base import BaseRecommender, ModelLoadError
from ml.hybrid.bandit import bucket_key
from ml.hybrid.blend import bucket_of
from ml.hybrid.estimator import HybridRecommender
from ml.hybrid.serving import HybridServer
from recommender.selectors_content import ModelNotReady
from recommender.selectors_ml import model_registry
from recommender.serving.catalogue import ServingCatalogue, catalogue_build, serving_catalogue

HYBRID = "hybrid"
NOT_TRAINED = "the hybrid model is not trained yet: run manage.py train hybrid"
DAYPARTS = ((6, "night"), (12, "morning"), (18, "afternoon"), (24, "evening"))


@dataclass(frozen=True)
class Serving:
    model: HybridRecommender
    version: str
    catalogue: ServingCatalogue
    server: HybridServer


_lock = threading.Lock()
_servers: dict[str, Serving] = {}
#: versions other than the active one that an experiment's arms serve (least recently used last)
_pinned: OrderedDict[str, Serving] = OrderedDict()
MAX_PINNED = 2


def serving_get(version: str | None = None) -> Serving:
    """The active hybrid with its catalogue and server (built once per version and process).

    With ``version`` (an experiment's arm), that version instead: loaded from the store and
    kept beside the active one (at most ``MAX_PINNED`` such versions per process).
    """
    if version is not None:
        found = _servers.get(version) or _pinned.get(version)
        if found is not None:
            return found
    active = _active()
    if version is None or version == active.version:
        return active
    return _pinned_get(version)


def _active() -> Serving:
    registry = model_registry()
    try:
        model: BaseRecommender = registry.get(HYBRID)
    except (ModelLoadError, FileNotFoundError, KeyError):
        raise ModelNotReady(NOT_TRAINED) from None
    version = registry.version(HYBRID)
    if not isinstance(model, HybridRecommender) or version is None:
        raise ModelNotReady(NOT_TRAINED)
    found = _servers.get(version)
    if found is not None:
        return found
    with _lock:
        found = _servers.get(version) or _pinned.pop(version, None)
        if found is None:
            catalogue = serving_catalogue(
                version=f"{HYBRID}:{version}", item_index=model.item_index_
            )
            server = HybridServer(model, catalogue.servable)
            found = Serving(model, version, catalogue, server)
        _servers.clear()
        _servers[version] = found
    return found


def _pinned_get(version: str) -> Serving:
    """A stored version that is not the active one (its own catalogue: the shared catalogue
    cache keeps one version per model, the active one's)."""
    with _lock:
        found = _pinned.get(version)
        if found is None:
            try:
                model = model_registry().store.load(HYBRID, version)
            except ModelLoadError as exc:
                raise ModelNotReady(f"hybrid version {version} does not load: {exc}") from None
            if not isinstance(model, HybridRecommender):
                raise ModelNotReady(f"hybrid version {version} is a {model.model_type} model")
            catalogue = catalogue_build(version=f"{HYBRID}:{version}", item_index=model.item_index_)
            found = Serving(model, version, catalogue, HybridServer(model, catalogue.servable))
            _pinned[version] = found
            while len(_pinned) > MAX_PINNED:
                _pinned.popitem(last=False)
        _pinned.move_to_end(version)
    return found


def serving_caches_clear() -> None:
    """Forget every per-process serving cache (tests; a catalogue import)."""
    from experiments.serving import experiment_caches_clear
    from recommender.serving import bandit, catalogue, curation, rooms, state, users

    _servers.clear()
    _pinned.clear()
    experiment_caches_clear()
    catalogue.serving_catalogue_clear()
    state.listener_states_clear()
    rooms.room_states_clear()
    users.kept_clear()
    curation.curation_rules_clear()
    bandit._current.clear()


def daypart(now: datetime | None = None) -> str:
    hour = timezone.localtime(now or timezone.now()).hour
    return next(name for end, name in DAYPARTS if hour < end)


def context_bucket(
    model: HybridRecommender,
    history_length: int,
    *,
    group_size: int = 1,
    now: datetime | None = None,
) -> tuple[str, str, str]:
    """``(history bucket label, bandit key, daypart)`` of a request.

    The offline weights depend on the history bucket (a cold start is the shortest bucket); the
    online bandit learns separately per bucket, solo or group, and time of day.
    """
    label = model.bucket_labels[int(bucket_of(np.array([history_length]), model.edges)[0])]
    part = daypart(now)
    return label, f"{bucket_key(label, group_size)}|{part}", part
