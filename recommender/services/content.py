"""Training the content model on the database and storing its per-track predictions.

``content_train`` mirrors ``training.model_train`` (validation fit -> metrics -> refit on all
-> publish inactive -> record -> activate), with the content model's own protocol: the
validation fit sees 80 % of the listeners, and each held-out listener gives only
``SEEDS`` artists (``cold-start``), the case the content model exists for. The validation fit
skips the genre classifier and the mood detector: they do not change the artist scores that are
measured, and Keras would double the training time for nothing.

After activation every catalogue track gets its predicted genre (``TrackPrediction``) and mood
(``TrackMood`` with source ``model``), written in one transaction, so serving and the admin read
rows and never run TensorFlow on a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from ml.base import ModelFitError
from ml.content.estimator import ContentRecommender
from ml.data.interactions import Interactions, split_users
from recommender.models import ModelVersion, Track, TrackMood, TrackPrediction
from recommender.selectors_content import (
    content_interactions_build,
    mood_set_build,
    track_table_build,
)
from recommender.services.imports.common import BATCH_SIZE, Progress, progress_bar
from recommender.services.model_versions import (
    ModelVersionError,
    model_store,
    model_version_promote,
)
from recommender.services.training import NO_DATA, SEED, VALIDATION_FRACTION, TrainingFailed

STORE_NAME = "content"
SEEDS = 3
METRICS_K = 10
NO_CATALOGUE = "no tracks with audio features: import the catalogue first (manage.py import_tracks)"


def _build(tiny: bool, **params: Any) -> ContentRecommender:
    try:
        return ContentRecommender.tiny(**params) if tiny else ContentRecommender(**params)
    except (TypeError, ValueError) as exc:
        raise TrainingFailed(f"content: bad parameters {params}: {exc}") from None


def _fit(model: ContentRecommender, data: Interactions, bar: Progress | None) -> ContentRecommender:
    if bar is not None:
        model.on_step = bar.note
        model.on_epoch = lambda e: bar.note(f"track network epoch {e.epoch}, loss {e.loss:.2f}")
    try:
        return model.fit(data)
    except ModelFitError as exc:
        raise TrainingFailed(str(exc)) from None


def _cold_start_metrics(
    probe: ContentRecommender, data: Interactions, bar: Progress | None
) -> dict[str, float]:
    """The validation fit (80 % of the listeners) measured on the held-out ones' cold start."""
    from ml.evaluation import evaluate_cold_start

    train, valid = split_users(data, test_fraction=VALIDATION_FRACTION, seed=SEED)
    _fit(probe, train, bar)
    result = evaluate_cold_start(
        {STORE_NAME: probe}, train, valid, k=METRICS_K, seed=SEED, seeds=SEEDS
    )[STORE_NAME]
    return {k: float(v) for k, v in result.metrics.items()}


def content_train(
    *,
    name: str = STORE_NAME,
    tiny: bool = False,
    progress: bool = False,
    command: str = "",
    params: Mapping[str, Any] | None = None,
    force: bool = False,
) -> ModelVersion:
    """Train the content model on the database data, publish it, and (if the promotion gate
    allows) activate it and store its per-track predictions."""
    from recommender.services.promotion import promotion_decide

    overrides = dict(params or {})

    data = content_interactions_build()
    if data.matrix.nnz == 0:
        raise TrainingFailed(NO_DATA)
    table = track_table_build()
    if len(table) < 2:
        raise TrainingFailed(NO_CATALOGUE)
    moods = mood_set_build()
    validation = {
        "protocol": "cold-start",
        "seeds": SEEDS,
        "fraction": VALIDATION_FRACTION,
        "seed": SEED,
        "k": METRICS_K,
    }
    with progress_bar(total=5, desc=f"train {STORE_NAME}", enabled=progress) as bar:
        bar.step("validation fit")
        probe = _build(tiny, **{**overrides, "classifiers": False}).set_sources(table, moods)
        metrics = _cold_start_metrics(probe, data, bar)
        bar.advance(1)
        bar.step("refit on all data")
        model = _fit(_build(tiny, **overrides).set_sources(table, moods), data, bar)
        bar.advance(1)
        bar.step("publish")
        published = model_store().publish(
            model,
            name=STORE_NAME,
            metrics=metrics,
            command=command or f"manage.py train content{' --tiny' if tiny else ''}",
            data_fingerprint=data.fingerprint(),
            activate=False,
            extra={
                "ml_name": "content",
                "tiny": tiny,
                "data": {"listeners": data.n_users, "artists": data.n_items, "tracks": len(table)},
                "validation": validation,
                "blend_weights": model.weights_.tolist(),
                "served_model": "refit on all data",
            },
        )
        bar.advance(1)
        bar.step("promotion gate")

        def baseline(active: dict[str, Any]) -> dict[str, float]:
            probe = ContentRecommender(**{**active, "classifiers": False})
            return _cold_start_metrics(probe.set_sources(table, moods), data, bar)

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
        bar.step("activate and store track predictions")
        try:
            row = model_version_promote(name=STORE_NAME, published=published, decision=decision)
        except ModelVersionError as exc:
            raise TrainingFailed(exc.message) from None
        bar.advance(1)  # activation also stored every track's predicted genre and mood
    return row


@transaction.atomic
def track_predictions_write(*, model: ContentRecommender, version: str) -> int:
    """Replace every track's predicted genre and model mood with ``model``'s; returns the count."""
    pks = dict(Track.objects.values_list("spotify_id", "pk"))
    rows = [(pks[sid], k) for k, sid in enumerate(model.track_ids_.tolist()) if sid in pks]
    genre_p, sub_p = model.track_genre_proba_, model.track_subgenre_proba_
    predictions = []
    for pk, k in rows:
        g, s = int(genre_p[k].argmax()), int(sub_p[k].argmax())
        predictions.append(
            TrackPrediction(
                track_id=pk,
                genre=str(model.genre_classes_[g]),
                genre_probability=float(genre_p[k, g]),
                subgenre=str(model.subgenre_classes_[s]),
                subgenre_probability=float(sub_p[k, s]),
                model_version=version,
            )
        )
    TrackPrediction.objects.all().delete()
    TrackPrediction.objects.bulk_create(predictions, batch_size=BATCH_SIZE)
    TrackMood.objects.filter(source=TrackMood.Source.MODEL).delete()
    mood_p = model.track_mood_proba_
    if mood_p.shape[1]:
        moods = [
            TrackMood(
                track_id=pk,
                source=TrackMood.Source.MODEL,
                mood=str(model.mood_classes_[int(mood_p[k].argmax())]),
                probability=float(min(1.0, max(0.0, mood_p[k].max()))),
            )
            for pk, k in rows
        ]
        TrackMood.objects.bulk_create(moods, batch_size=BATCH_SIZE)
    return len(predictions)
