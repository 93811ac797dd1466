"""Training the hybrid orchestrator on the database and publishing it.

The hybrid fits its members (NCF, EASE, ALS, item-kNN, content) twice inside one ``fit``: on an
inner 80/20 split of every listener's artists, where it learns the blend weights and the
confidence calibration, then on all the data. Its recorded metrics are that inner validation
(NDCG@10 per history bucket and overall), labelled as such: the weights were chosen on it, so
it is an optimistic figure; ``bench/hybrid.py`` measures the same configuration on held-out data.
Running ``model_train``'s separate validation fit as well would double a seven-minute training.
The content member reads the database's catalogue and moods, like ``manage.py train content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml.base import BaseRecommender, ModelFitError
from ml.content.estimator import ContentRecommender
from ml.hybrid.estimator import HybridRecommender
from recommender.models import ModelVersion
from recommender.selectors_content import (
    content_interactions_build,
    mood_set_build,
    track_table_build,
)
from recommender.services.imports.common import progress_bar
from recommender.services.model_versions import (
    ModelVersionError,
    model_store,
    model_version_promote,
)
from recommender.services.training import NO_DATA, TrainingFailed

STORE_NAME = "hybrid"


def _metrics(model: HybridRecommender) -> dict[str, float]:
    labels = [*model.bucket_labels, "all"]
    metrics = {
        f"ndcg@10 {label}": float(v)
        for label, v in zip(labels, model.validation_ndcg_.tolist(), strict=True)
    }
    return {"ndcg": metrics["ndcg@10 all"], **metrics}


def hybrid_train(
    *,
    name: str = STORE_NAME,
    tiny: bool = False,
    progress: bool = False,
    command: str = "",
    params: Mapping[str, Any] | None = None,
    force: bool = False,
) -> ModelVersion:
    """Fit the hybrid on the database data, publish it, and activate it if the gate allows."""
    from recommender.services.promotion import promotion_decide

    data = content_interactions_build()
    if data.matrix.nnz == 0:
        raise TrainingFailed(NO_DATA)
    table, moods = track_table_build(), mood_set_build()
    overrides = dict(params or {})
    try:
        model = HybridRecommender.tiny(**overrides) if tiny else HybridRecommender(**overrides)
    except (TypeError, ValueError) as exc:
        raise TrainingFailed(f"{STORE_NAME}: bad parameters {overrides}: {exc}") from None

    def prepare(member_name: str, member: BaseRecommender) -> None:
        if isinstance(member, ContentRecommender):
            member.set_sources(table, moods)

    model.prepare_member = prepare
    steps = 2 * len(model.member_names) + 3
    with progress_bar(total=steps, desc=f"train {STORE_NAME}", enabled=progress) as bar:

        def step(text: str) -> None:
            bar.step(text)
            bar.advance(1)

        model.on_step = step
        try:
            model.fit(data)
        except ModelFitError as exc:
            raise TrainingFailed(f"{STORE_NAME}: {exc}") from None
        bar.step("publish")
        metrics = _metrics(model)
        validation = {
            "protocol": "inner split_items_per_user (weights chosen on it: optimistic)",
            "fraction": model.validation_fraction,
            "seed": model.seed,
            "k": 10,
        }
        published = model_store().publish(
            model,
            name=STORE_NAME,
            metrics=metrics,
            command=command or f"manage.py train hybrid{' --tiny' if tiny else ''}",
            data_fingerprint=data.fingerprint(),
            activate=False,
            extra={
                "ml_name": "hybrid",
                "tiny": tiny,
                "data": {"listeners": data.n_users, "artists": data.n_items, "tracks": len(table)},
                "validation": validation,
                "blend_weights": model.weights_by_bucket(),
                "member_fit_seconds": model.member_fit_seconds_,
                "served_model": "members refitted on all data",
            },
        )
        bar.advance(1)

        def baseline(active: dict[str, Any]) -> dict[str, float]:
            # The active configuration refitted on this data: its own inner validation is
            # seeded the same way, so both figures come from the same split.
            refit = HybridRecommender(**active)
            refit.prepare_member = prepare
            refit.on_step = bar.note
            try:
                return _metrics(refit.fit(data))
            except ModelFitError as exc:
                raise TrainingFailed(f"{STORE_NAME} baseline: {exc}") from None

        bar.step("promotion gate")
        decision = promotion_decide(
            name=STORE_NAME,
            model=model,
            metrics=metrics,
            data_fingerprint=published.manifest["data_fingerprint"],
            validation=validation,
            baseline=baseline,
            force=force,
        )
        bar.advance(1)
    try:
        return model_version_promote(name=STORE_NAME, published=published, decision=decision)
    except ModelVersionError as exc:
        raise TrainingFailed(exc.message) from None
