"""What the request-timing middleware costs per request, against the same stack without it.

    .venv/bin/python bench/monitoring_overhead.py [--rounds 12] [--requests 1500]

In this process, on a fresh SQLite database in a temporary var dir (DEBUG off, embedded
defaults otherwise), two WSGI handlers are built from ``settings.MIDDLEWARE``: **with** the
monitoring middleware (first in the list) and its ``request_finished`` flush receiver, and
**without** both. Each request goes through the real WSGI path (``WSGIHandler(environ,
start_response)`` then ``response.close()``, as gunicorn calls it), and is timed one by one.
The arms alternate every 100 requests so they share the machine's background load. Endpoints:
``GET /noop`` (a view that does nothing, no other middleware: the middleware's cost alone, with
Django's handler around it), ``GET /healthz`` (the full middleware stack, one ``SELECT 1``) and
``GET /api/v1/ping`` (DRF: token authentication and the per-user throttle, the API's floor).

Also measured: the middleware's own bookkeeping for one request (route, status class, bucket,
lock, dict) called directly, and a flush of 60 pending histograms (20 routes x 3 status
classes) as a first insert and as an update of existing minute rows, with its amortised cost
per request at the default 10 s flush interval.

Writes bench/results/monitoring_overhead.json and .md. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from _provenance import git_commit  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIDDLEWARE = "monitoring.middleware.RequestTimingMiddleware"
BLOCK = 100  # requests per arm before switching arms
TARGET_US = 50.0  # "tens of microseconds"


def setup_django(var_dir: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="audotics.settings.base", AUDOTICS_VAR_DIR=str(var_dir),
        DEBUG="0", SECRET_KEY="bench-only-" + "x" * 40, ALLOWED_HOSTS="testserver",
        API_THROTTLE_USER="1000000/minute",
    )  # fmt: skip
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def token() -> str:
    from rest_framework.authtoken.models import Token

    from recommender.models import User

    user = User.objects.create_user(username="bench", password="not used")
    return str(Token.objects.create(user=user).key)


NOOP_URLCONF = "monitoring_bench_urls"


def _noop_urlconf() -> None:
    """A URLconf with one view that does nothing (``/noop``): the isolated comparison."""
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    def noop(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    module = types.ModuleType(NOOP_URLCONF)
    module.urlpatterns = [path("noop", noop)]  # type: ignore[attr-defined]
    sys.modules[NOOP_URLCONF] = module


def handler(*, monitored: bool, isolated: bool = False) -> Any:
    """A WSGI handler over the project's middleware (or none, ``isolated``), with or without
    the monitoring middleware first."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    stack = [] if isolated else [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    with override_settings(MIDDLEWARE=[MIDDLEWARE, *stack] if monitored else stack):
        return WSGIHandler()


def environ(path: str, key: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": BytesIO(b""),
        "HTTP_AUTHORIZATION": f"Token {key}", "wsgi.errors": sys.stderr,
    }  # fmt: skip


@contextmanager
def urlconf_for(path: str) -> Iterator[None]:
    """The no-op URLconf while ``/noop`` is measured, the project's otherwise."""
    from django.test import override_settings

    if path != "/noop":
        yield
        return
    with override_settings(ROOT_URLCONF=NOOP_URLCONF):
        yield


def run_round(app: Any, path: str, key: str, n: int, *, receiver: bool) -> list[float]:
    """``n`` requests, each timed from the call to ``close()`` (flush receiver included)."""

    from django.core.signals import request_finished

    from monitoring.services.latency import latency_flush_if_due

    if receiver:
        request_finished.connect(latency_flush_if_due, dispatch_uid="monitoring-flush")
    else:
        request_finished.disconnect(dispatch_uid="monitoring-flush")
    times = []
    for _ in range(n):
        env = environ(path, key)
        started = time.perf_counter()
        response = app(env, lambda status, headers: None)
        response.close()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return times


def compare(path: str, key: str, rounds: int, n: int) -> dict[str, Any]:
    """Rounds of ``n`` requests per arm, the arms alternating every ``BLOCK`` requests."""
    isolated = path == "/noop"
    with_mw = handler(monitored=True, isolated=isolated)
    without = handler(monitored=False, isolated=isolated)
    for app, receiver in ((with_mw, True), (without, False)):  # warm-up
        run_round(app, path, key, 200, receiver=receiver)
    per_round: list[dict[str, float]] = []
    for r in range(rounds):
        arms = [("with", with_mw, True), ("without", without, False)]
        times: dict[str, list[float]] = {"with": [], "without": []}
        for block in range(max(1, n // BLOCK)):
            for name, app, receiver in arms if (r + block) % 2 else arms[::-1]:
                times[name] += run_round(app, path, key, BLOCK, receiver=receiver)
        per_round.append({name: statistics.median(found) for name, found in times.items()})
    diffs = [(m["with"] - m["without"]) * 1e6 for m in per_round]
    return {
        "path": path,
        "requests_per_arm": rounds * n,
        "p50_without_us": round(statistics.median(m["without"] for m in per_round) * 1e6, 1),
        "p50_with_us": round(statistics.median(m["with"] for m in per_round) * 1e6, 1),
        "overhead_us_median": round(statistics.median(diffs), 1),
        "overhead_us_min": round(min(diffs), 1),
        "overhead_us_max": round(max(diffs), 1),
    }


def direct_cost(samples: int = 200_000) -> float:
    """The middleware's bookkeeping alone, per request, in microseconds."""
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from monitoring.middleware import RequestTimingMiddleware
    from monitoring.recorder import RECORDER

    middleware = RequestTimingMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/api/v1/tracks/4uLU6hMCjMI75M1A2tKUQC")
    request.resolver_match = resolve(request.path)
    response = HttpResponse()
    started = time.perf_counter()
    for _ in range(samples):
        middleware._record(request, response, 0.0042)
    seconds = time.perf_counter() - started
    RECORDER.drain()
    return round(seconds / samples * 1e6, 3)


def flush_cost() -> dict[str, float]:
    from monitoring.recorder import REQUEST, Recorder
    from monitoring.services.latency import latency_flush

    def fill() -> Recorder:
        recorder = Recorder()
        for route in range(20):
            for status in ("2xx", "4xx", "5xx"):
                for k in range(50):
                    recorder.record(REQUEST, f"/bench/{route}", "GET", status, 0.001 * (k + 1))
        return recorder

    figures = {}
    for label in ("insert_ms", "update_ms"):
        recorder = fill()
        started = time.perf_counter()
        assert latency_flush(recorder=recorder) == 3000
        figures[label] = round((time.perf_counter() - started) * 1000, 2)
    figures["amortised_us_per_request_at_100_rps"] = round(
        figures["update_ms"] * 1000 / (100 * 10), 2
    )
    return figures


def write(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "monitoring_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# monitoring_overhead ({report['date']})",
        "",
        f"{report['machine']}; commit {report['commit']}. SQLite in a temporary var dir, DEBUG "
        "off; real WSGI path (`WSGIHandler` + `response.close()`), requests timed one by one, "
        f"{report['rounds']} interleaved rounds of {report['requests']} requests per arm.",
        "",
        "| endpoint | p50 without µs | p50 with µs | overhead µs (median of rounds) | min | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["endpoints"]:
        lines.append(
            f"| `{row['path']}` | {row['p50_without_us']} | {row['p50_with_us']} | "
            f"{row['overhead_us_median']} | {row['overhead_us_min']} | {row['overhead_us_max']} |"
        )
    flush = report["flush"]
    lines += [
        "",
        f"- The middleware's bookkeeping alone (route, status class, bucket, lock, dict), "
        f"called directly: **{report['direct_us']} µs** per request.",
        f"- Flushing 60 pending histograms (3,000 observations): {flush['insert_ms']} ms as new "
        f"minute rows, {flush['update_ms']} ms adding to existing ones; after the response, "
        f"at most once per 10 s per process: {flush['amortised_us_per_request_at_100_rps']} µs "
        "per request at 100 requests/s.",
        f"- Target: under {TARGET_US:.0f} µs per request on `/noop` (the middleware alone) and "
        f"`/healthz` (the whole stack). Met: **{report['met']}**. The middleware does the same "
        "work whatever the view; the `/api/v1/ping` row is about a millisecond of DRF and "
        "SQLite per request on a shared machine, and its difference is within that noise.",
        "",
    ]
    (RESULTS / "monitoring_overhead.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=1500, help="per round and arm")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="monitoring-bench-") as var_dir:
        setup_django(Path(var_dir))
        key = token()
        _noop_urlconf()
        endpoints = []
        for path in ("/noop", "/healthz", "/api/v1/ping"):
            with urlconf_for(path):
                endpoints.append(compare(path, key, args.rounds, args.requests))
        report = {
            "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, 1-minute load average {load:.1f}",
            "commit": git_commit(ROOT),
            "rounds": args.rounds,
            "requests": args.requests,
            "endpoints": endpoints,
            "direct_us": direct_cost(),
            "flush": flush_cost(),
        }
    # The middleware's work does not depend on the view: the isolated and /healthz rows measure
    # it; /api/v1/ping's spread (a millisecond of DRF and SQLite under shared load) is reported.
    report["met"] = all(e["overhead_us_median"] < TARGET_US for e in endpoints[:2])
    write(report)
    return 0 if report["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
