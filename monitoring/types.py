"""The shape of ``/monitoring/metrics.json`` (the dashboard renders the same payload)."""

from __future__ import annotations

from typing import TypedDict


class LatencyStats(TypedDict):
    count: int
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class EndpointLatency(LatencyStats):
    route: str
    method: str
    errors_4xx: int
    errors_5xx: int


class NamedLatency(LatencyStats):
    name: str


class LatencySeries(TypedDict):
    bin_seconds: int
    starts: list[str]
    count: list[int]
    p50_ms: list[float | None]
    p90_ms: list[float | None]
    p99_ms: list[float | None]


class RequestLatencyReport(TypedDict):
    hours: int
    since: str
    until: str
    histogram: str
    overall: LatencyStats
    endpoints: list[EndpointLatency]
    series: LatencySeries


class RetrainDuration(TypedDict):
    name: str
    status: str
    started_at: str
    finished_at: str | None
    seconds: float | None
    version: str


class ModelFreshness(TypedDict):
    name: str
    version: str
    active_since: str
    age_hours: float


class RecommendationUpdates(TypedDict):
    definitions: dict[str, str]
    observed: list[NamedLatency]
    observed_series: dict[str, LatencySeries]
    retrains: list[RetrainDuration]
    freshness: list[ModelFreshness]


class VersionPoint(TypedDict):
    version: str
    status: str
    created_at: str
    value: float | None
    metrics: dict[str, float]


class ModelMetrics(TypedDict):
    name: str
    metric: str
    active_version: str | None
    versions: list[VersionPoint]


class DailyMetric(TypedDict):
    key: str
    label: str
    unit: str
    definition: str
    values: list[float | None]
    window: float | None


class BusinessReport(TypedDict):
    days: list[str]
    since: str
    metrics: dict[str, DailyMetric]


class BiasReport(TypedDict):
    status: str
    message: str
    computed_at: str
    model_version: str | None
    listeners: int
    lists: int
    definitions: dict[str, str]
    popularity_bias: float | None
    mean_popularity: float | None
    genre_diversity: float | None
    artist_diversity: float | None
    coverage: float | None
    artist_coverage: float | None
    popularity_deciles: list[float]


class Dashboard(TypedDict):
    generated_at: str
    days: int
    hours: int
    request_latency: RequestLatencyReport
    recommendation_updates: RecommendationUpdates
    models: list[ModelMetrics]
    business: BusinessReport
    bias: BiasReport
