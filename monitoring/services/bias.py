"""The bias report: sample listeners' current recommendations, measure them, cache the result.

It asks the serving path for real lists (``user_recommendations``), so it costs tens of
milliseconds per listener: the report is cached (``MONITORING_BIAS_CACHE_SECONDS``) and the
dashboard shows when it was computed. Without a trained hybrid it says so instead of failing.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from audotics.errors import ApplicationError
from monitoring import conf
from monitoring.bias import DEFINITIONS, ServedTrack, bias_figures
from monitoring.selectors.catalogue import catalogue_facts, listener_sample, track_genres
from monitoring.types import BiasReport
from recommender.selectors_content import ModelNotReady

CACHE_KEY = "monitoring:bias-report:v1"
LIST_LENGTH = 10


def _report(status: str, message: str, **figures: object) -> BiasReport:
    report = BiasReport(
        status=status, message=message, computed_at=timezone.now().isoformat(),
        model_version=None, listeners=0, lists=0, definitions=DEFINITIONS, popularity_bias=None,
        mean_popularity=None, genre_diversity=None, artist_diversity=None, coverage=None,
        artist_coverage=None, popularity_deciles=[],
    )  # fmt: skip
    report.update(figures)  # type: ignore[typeddict-item]
    return report


def bias_report_compute(*, sample_size: int) -> BiasReport:
    """Measure the current lists of ``sample_size`` listeners (uncached)."""
    from recommender.serving.hybrid import serving_get
    from recommender.serving.users import user_recommendations

    try:
        version = serving_get().version
    except ModelNotReady as exc:
        return _report("not_trained", str(exc))
    users = listener_sample(size=sample_size)
    lists: list[list[ServedTrack]] = []
    for user_id in users:
        try:
            payload = user_recommendations(user_id=user_id, n=LIST_LENGTH)
        except ModelNotReady as exc:
            return _report("not_trained", str(exc))
        except ApplicationError:
            continue  # a listener the serving path refuses is left out of the sample
        cards = [r["track"] for r in payload["results"]]
        lists.append([ServedTrack(c["spotify_id"], c["artist"], c["popularity"]) for c in cards])
    if not lists:
        return _report("no_listeners", "no listeners to sample yet", model_version=version)
    facts = catalogue_facts()
    figures = bias_figures(
        lists,
        catalogue_popularity=facts.popularity,
        genres_of=track_genres(spotify_ids={t.spotify_id for tracks in lists for t in tracks}),
        catalogue_tracks=facts.tracks,
        catalogue_artists=facts.artists,
        catalogue_genres=facts.genres,
    )
    return _report(
        "ok", f"{len(lists)} lists of up to {LIST_LENGTH} tracks from hybrid {version}",
        model_version=version, listeners=len(users), lists=len(lists), **figures.__dict__,
    )  # fmt: skip


def bias_report_get(*, refresh: bool = False) -> BiasReport:
    """The cached report, computed when missing, stale or ``refresh`` is asked for."""
    if not refresh:
        cached: BiasReport | None = cache.get(CACHE_KEY)
        if cached is not None:
            return cached
    report = bias_report_compute(sample_size=conf.bias_sample_size())
    seconds = conf.bias_cache_seconds()
    if seconds > 0:
        cache.set(CACHE_KEY, report, seconds)
    return report
