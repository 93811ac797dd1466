"""Flushing: processes add up in the minute rows; a failed flush writes nothing, loses nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.histogram import counts_of
from monitoring.models import LatencyMinute
from monitoring.recorder import RECORDER, REQUEST, TIMING, Recorder
from monitoring.services.latency import latency_flush, latency_flush_if_due, latency_prune


@pytest.mark.django_db
def test_two_processes_add_up_in_the_same_minute_row() -> None:
    worker_a, worker_b = Recorder(), Recorder()
    for seconds in (0.002, 0.004, 0.008):
        worker_a.record(REQUEST, "/api/v1/ping", "GET", "2xx", seconds)
    for seconds in (0.016, 0.032):
        worker_b.record(REQUEST, "/api/v1/ping", "GET", "2xx", seconds)
    worker_b.record(TIMING, "recs.update", "", "", 0.05)

    assert latency_flush(recorder=worker_a) == 3
    assert latency_flush(recorder=worker_b) == 3
    worker_a.record(REQUEST, "/api/v1/ping", "GET", "2xx", 0.001)
    assert latency_flush(recorder=worker_a) == 1

    pings = LatencyMinute.objects.filter(name="/api/v1/ping")
    assert sum(r.n for r in pings) == 6
    total = [sum(c) for c in zip(*(r.counts for r in pings), strict=True)]
    assert total == counts_of([0.002, 0.004, 0.008, 0.016, 0.032, 0.001])
    assert sum(r.total_seconds for r in pings) == pytest.approx(0.063)
    assert LatencyMinute.objects.get(kind="timing").name == "recs.update"


@pytest.mark.django_db
def test_a_failed_flush_writes_nothing_and_keeps_everything() -> None:
    recorder = Recorder()
    recorder.record(REQUEST, "/healthz", "GET", "2xx", 0.001)
    recorder.record(TIMING, "broken", "", "", -1.0)  # violates the row's check constraint

    assert latency_flush(recorder=recorder) == 0

    assert not LatencyMinute.objects.exists()
    assert recorder.observations == 2
    kept = recorder.drain()
    assert {key[2] for key in kept} == {"/healthz", "broken"}


@pytest.mark.django_db
def test_an_empty_recorder_flushes_nothing() -> None:
    assert latency_flush(recorder=Recorder()) == 0


@pytest.mark.django_db(transaction=True)
def test_a_failing_flush_after_a_request_does_not_break_the_request(settings: Any) -> None:
    settings.MONITORING_FLUSH_SECONDS = 1
    RECORDER.record(TIMING, "broken", "", "", -1.0)
    RECORDER.last_flush = time.monotonic() - 60

    response = Client().get("/healthz")  # the receiver flushes after it, and fails

    assert response.status_code == 200
    assert not LatencyMinute.objects.filter(name="broken").exists()
    assert "broken" in {key[2] for key in RECORDER.drain()}


@pytest.mark.django_db(transaction=True)
def test_a_due_flush_runs_after_the_response(settings: Any) -> None:
    settings.MONITORING_FLUSH_SECONDS = 1
    RECORDER.last_flush = time.monotonic() - 60

    Client().get("/healthz")

    assert LatencyMinute.objects.filter(name="/healthz").exists()
    assert RECORDER.observations == 0


@pytest.mark.django_db
def test_inside_a_transaction_the_receiver_waits(settings: Any) -> None:
    """A rollback of someone else's transaction would lose the drained histograms."""
    settings.MONITORING_FLUSH_SECONDS = 1
    RECORDER.record(REQUEST, "/healthz", "GET", "2xx", 0.001)
    RECORDER.last_flush = time.monotonic() - 60
    latency_flush_if_due()
    assert RECORDER.observations == 1


def test_flush_seconds_zero_turns_automatic_flushing_off() -> None:
    recorder = Recorder()
    recorder.record(REQUEST, "/healthz", "GET", "2xx", 0.001)
    recorder.last_flush = time.monotonic() - 3600
    assert not recorder.due(every_seconds=0, threshold=1)
    assert recorder.due(every_seconds=10, threshold=1_000)


def test_a_burst_makes_a_flush_due_before_the_interval() -> None:
    recorder = Recorder()
    for _ in range(5):
        recorder.record(REQUEST, "/healthz", "GET", "2xx", 0.001)
    assert not recorder.due(every_seconds=10, threshold=6)
    assert recorder.due(every_seconds=10, threshold=5)


@pytest.mark.django_db
def test_prune_deletes_rows_older_than_the_retention() -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    for age in (0, 40):
        LatencyMinute.objects.create(
            minute=now - timedelta(days=age), kind="request", name=f"/{age}", method="GET",
            status="2xx", n=1, total_seconds=0.001, counts=counts_of([0.001]),
        )  # fmt: skip
    assert latency_prune(older_than_days=30) == 1
    assert list(LatencyMinute.objects.values_list("name", flat=True)) == ["/0"]
