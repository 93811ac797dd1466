"""Training and evaluating models on the database data, publishing them to the model store.

What is measured and what is served. ``model_train`` holds out a seeded 20 % of each listener's
artists, fits on the rest and records ``ranking_metrics_at_k`` on the held-out part; it then
refits the same configuration on *all* the data and publishes that model. Serving the
train-split model would hide a fifth of every listener's history from it (those artists would
come back as "new" recommendations); the recorded metrics are the honest estimate for the
configuration, as in a final refit after cross-validation.

``model_train`` is deliberately not one transaction: training runs for minutes, and the store is
not transactional. It publishes the version inactive, records it as a candidate, then activates
it (which loads it back first); a version that does not load is recorded as ``failed`` and the
previous version keeps serving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from audotics.errors import ApplicationError
from ml.base import BaseRecommender, ModelFitError
from ml.data.interactions import Interactions, split_items_per_user, split_users
from ml.models import build
from recommender.models import ModelVersion
from recommender.selectors_ml import interaction_matrix_build
from recommender.services.imports.common import Progress, progress_bar
from recommender.services.model_versions import (
    ModelVersionError,
    model_name_resolve,
    model_store,
    model_version_promote,
)

if TYPE_CHECKING:
    from ml.cli import ProtocolRun

SEED = 7
VALIDATION_FRACTION = 0.2
METRICS_K = 10
PROTOCOLS = ("weak", "fold-in")
NO_DATA = "no listening data in the database: import it first (manage.py import_lastfm DIR)"
GROUP_MODEL = "group"  # measured on friend groups, not per listener (see _validation_metrics)


class TrainingFailed(ApplicationError):
    code = "training_failed"


def _require_data(data: Interactions) -> None:
    if data.matrix.nnz == 0:
        raise TrainingFailed(NO_DATA)


def _build(ml_name: str, *, tiny: bool, params: Mapping[str, Any] | None) -> BaseRecommender:
    try:
        return build(ml_name, tiny=tiny, **dict(params or {}))
    except (TypeError, ValueError) as exc:
        raise TrainingFailed(f"{ml_name}: bad parameters {dict(params or {})}: {exc}") from None


def _fit(
    ml_name: str,
    *,
    tiny: bool,
    data: Interactions,
    bar: Progress | None = None,
    params: Mapping[str, Any] | None = None,
) -> BaseRecommender:
    model = _build(ml_name, tiny=tiny, params=params)
    if bar is not None and hasattr(model, "on_epoch"):
        model.on_epoch = lambda e: bar.note(f"epoch {e.epoch}, loss {e.loss:.1f}")
    try:
        return model.fit(data)
    except ModelFitError as exc:
        raise TrainingFailed(f"{ml_name}: {exc}") from None


def _validation_metrics(
    ml_name: str,
    *,
    tiny: bool,
    data: Interactions,
    bar: Progress | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    from ml.evaluation import ranking_metrics_at_k  # written beside the models; loaded on use

    if ml_name == GROUP_MODEL:
        group_metrics = _group_validation_metrics(tiny=tiny, data=data, bar=bar, params=params)
        if group_metrics is not None:
            return group_metrics
    train, valid = split_items_per_user(data, test_fraction=VALIDATION_FRACTION, seed=SEED)
    model = _fit(ml_name, tiny=tiny, data=train, bar=bar, params=params)
    return {k: float(v) for k, v in ranking_metrics_at_k(model, train, valid, METRICS_K).items()}


def _group_validation_metrics(
    *,
    tiny: bool,
    data: Interactions,
    bar: Progress | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, float] | None:
    """The group model is measured on ephemeral friend groups (the ``groups`` protocol):
    group NDCG@10 and the harmony metrics of its learned policy; None without friend groups."""
    from ml.group.evaluation import evaluate_groups, make_task

    task = make_task(data, seed=SEED)
    if not task.test_groups or not task.train_groups:
        return None
    model = _build(GROUP_MODEL, tiny=tiny, params=params)
    if bar is not None and hasattr(model, "on_epoch"):
        model.on_epoch = lambda e: bar.note(f"epoch {e.epoch}, loss {e.loss:.2f}")
    try:
        result = evaluate_groups({GROUP_MODEL: model}, task, policy_names=(), k=METRICS_K)
    except ModelFitError as exc:
        raise TrainingFailed(f"{GROUP_MODEL}: {exc}") from None
    return {k: float(v) for k, v in result[GROUP_MODEL].metrics.items()}


def _training_data(ml_name: str) -> Interactions:
    """The database data; the group model also reads artist and tag names, genres and moods."""
    data = interaction_matrix_build()
    if ml_name == GROUP_MODEL:
        from groups.selectors import taste_vocabulary_attach

        data = taste_vocabulary_attach(data=data)
    return data


def model_train(
    *,
    name: str,
    tiny: bool = False,
    progress: bool = False,
    command: str = "",
    params: Mapping[str, Any] | None = None,
    force: bool = False,
) -> ModelVersion:
    """Train ``name`` on the database data, publish it, and activate it if the gate allows.

    ``name`` is a Django-facing name (``user_preference``) or any ``ml.models`` registry name;
    ``params`` override the configuration's hyperparameters. The returned row is ``active``, or
    a ``candidate`` with the promotion gate's reason (see ``recommender.services.promotion``).
    """
    from recommender.services.promotion import promotion_decide

    store_name, ml_name = model_name_resolve(name=name)
    data = _training_data(ml_name)
    _require_data(data)
    with progress_bar(total=4, desc=f"train {store_name}", enabled=progress) as bar:
        bar.step("validation fit")
        metrics = _validation_metrics(ml_name, tiny=tiny, data=data, bar=bar, params=params)
        bar.advance(1)
        bar.step("refit on all data")
        model = _fit(ml_name, tiny=tiny, data=data, bar=bar, params=params)
        bar.advance(1)
        bar.step("publish")
        extra = _training_extra(ml_name, tiny=tiny, data=data)
        published = model_store().publish(
            model,
            name=store_name,
            metrics=metrics,
            command=command or f"manage.py train {name}{' --tiny' if tiny else ''}",
            data_fingerprint=data.fingerprint(),
            activate=False,
            extra=extra,
        )
        bar.advance(1)
        bar.step("promotion gate")
        decision = promotion_decide(
            name=store_name,
            model=model,
            metrics=metrics,
            data_fingerprint=published.manifest["data_fingerprint"],
            validation=extra["validation"],
            baseline=lambda active: _validation_metrics(
                ml_name, tiny=False, data=data, bar=bar, params=active
            ),
            force=force,
        )
        bar.advance(1)
    try:
        return model_version_promote(name=store_name, published=published, decision=decision)
    except ModelVersionError as exc:
        raise TrainingFailed(exc.message) from None


def _training_extra(ml_name: str, *, tiny: bool, data: Interactions) -> dict[str, Any]:
    return {
        "ml_name": ml_name,
        "tiny": tiny,
        "data": {"source": data.name, "users": data.n_users, "items": data.n_items},
        "validation": {
            "split": "groups protocol" if ml_name == GROUP_MODEL else "split_items_per_user",
            "fraction": VALIDATION_FRACTION,
            "seed": SEED,
            "k": METRICS_K,
        },
        "served_model": "refit on all data",
    }


def model_evaluate(
    *, protocol: str, names: Sequence[str], k: int = 10, seed: int = 7, tiny: bool = False
) -> ProtocolRun:
    """Compare models on the database data under ``python -m ml evaluate``'s protocols.

    ``weak`` splits each listener's artists; ``fold-in`` holds out a seeded fifth of the
    listeners (as ``python -m ml`` does without ``--test``), fits on the others and serves the
    held-out ones from their history only. Nothing is published.
    """
    from ml import evaluation
    from ml.cli import ProtocolRun

    if protocol not in PROTOCOLS:
        raise ApplicationError(f"unknown protocol {protocol!r}; choose from weak, fold-in")
    models = {
        name: build(model_name_resolve(name=name)[1], tiny=tiny) for name in dict.fromkeys(names)
    }
    data = interaction_matrix_build()
    _require_data(data)
    described = (
        f"database ({data.n_users} users x {data.n_items} items, {data.matrix.nnz} interactions)"
    )
    try:
        if protocol == "weak":
            results = evaluation.evaluate_weak(models, data, k=k, seed=seed)
            return ProtocolRun(f"weak on {described}", results)
        train, test = split_users(data, test_fraction=evaluation.TEST_FRACTION, seed=seed)
        if train.n_users == 0 or test.n_users == 0:
            raise TrainingFailed("too few listeners in the database to hold any out for fold-in")
        results = evaluation.evaluate_fold_in(models, train, test, k=k, seed=seed)
        return ProtocolRun(f"fold-in on {described}; {test.n_users} of its users held out", results)
    except ModelFitError as exc:
        raise TrainingFailed(str(exc)) from None
