"""Retrains in a real Celery worker on Redis, through the promotion gate (issue 9).

A worker process (``celery -A audotics worker``) runs against a fresh SQLite database and model
store holding the tiny user-preference model 0001. The test process only sends the task to the
broker, as beat does, and reads the outcome from the database and the store: with no new events
the scheduled retrain is skipped; after new plays it is trained and promoted (0002 active); a
retrain with a configuration that barely learns is held as a candidate with the gate's reason,
and 0002 keeps serving.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery

from ml.artifacts import ModelStore
from tests.recommender.live.live_store import process_env

ROOT = Path(__file__).resolve().parents[3]
TASK = "recommender.tasks.model_retrain_task"
WORSE = {"epochs": 1, "learning_rate": 1e-9}

pytestmark = pytest.mark.celery_worker


def _broker_url() -> str:
    """The suite's Redis on database 14, so the worker's queue never meets the tests' cache."""
    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/14", "", ""))


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var_dir = tmp_path_factory.mktemp("worker_var")
    env = process_env(var_dir)
    setup = subprocess.run(
        [sys.executable, "-m", "tests.recommender.live.live_store", "user_model"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert json.loads(setup.stdout.strip().splitlines()[-1]) == {"versions": ["0001"]}
    queue = f"retrain-test-{uuid.uuid4().hex[:8]}"
    env["CELERY_BROKER_URL"] = _broker_url()
    log = (var_dir / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "audotics", "worker", "--pool", "solo",
         "--queues", queue, "--without-gossip", "--without-mingle", "--loglevel", "info"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = Celery("retrain-test", broker=_broker_url())
    try:
        yield {"var_dir": var_dir, "queue": queue, "client": client, "proc": proc, "env": env}
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        client.close()


def _retrain(worker: dict[str, Any], **kwargs: Any) -> tuple[str, str, str]:
    """Send the task as beat does; wait for the worker's RetrainRun row to finish."""
    db = worker["var_dir"] / "audotics.sqlite3"
    before = _runs(db)
    worker["client"].send_task(
        TASK, args=["user_preference"], kwargs={"tiny": True, "trigger": "schedule", **kwargs},
        queue=worker["queue"],
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert worker["proc"].poll() is None, (worker["var_dir"] / "worker.log").read_text()[-3000:]
        rows = _runs(db)[len(before) :]
        if rows and rows[0][0] != "running":
            return rows[0]
        time.sleep(0.5)
    raise AssertionError((worker["var_dir"] / "worker.log").read_text()[-3000:])


def _runs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(
            "SELECT status, version, reason FROM recommender_retrainrun ORDER BY id"
        ).fetchall()


def _version_row(worker: dict[str, Any], version: str) -> tuple[str, str]:
    db = worker["var_dir"] / "audotics.sqlite3"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(
            "SELECT status, status_reason FROM recommender_modelversion "
            "WHERE name = 'user_preference' AND version = ?",
            (version,),
        ).fetchone()


NEW_PLAYS = """
from recommender.models import Artist, ArtistPlayCount, User
listener = User.objects.filter(artistplaycount__isnull=False).order_by("pk").first()
known = ArtistPlayCount.objects.filter(user=listener).values("artist")
for artist in Artist.objects.exclude(pk__in=known).order_by("pk")[:3]:
    ArtistPlayCount.objects.create(user=listener, artist=artist, play_count=25)
"""


def test_a_scheduled_retrain_without_new_events_is_skipped(worker: dict[str, Any]) -> None:
    status, version, reason = _retrain(worker)

    assert (status, version) == ("skipped", ""), reason
    assert "no new events since version 0001" in reason
    assert ModelStore(worker["var_dir"] / "models").active_version("user_preference") == "0001"


def test_a_scheduled_retrain_in_the_worker_promotes_the_new_version(
    worker: dict[str, Any],
) -> None:
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", NEW_PLAYS], env=worker["env"], cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr[-2000:]

    status, version, reason = _retrain(worker)

    assert (status, version) == ("succeeded", "0002"), reason
    assert ModelStore(worker["var_dir"] / "models").active_version("user_preference") == "0002"
    assert _version_row(worker, "0001")[0] == "retired"
    assert _version_row(worker, "0002")[0] == "active" and "ndcg" in reason


def test_a_worse_model_from_the_worker_is_held_as_a_candidate(worker: dict[str, Any]) -> None:
    status, version, reason = _retrain(worker, params=WORSE)

    assert status == "held", reason
    assert "below active" in reason
    assert ModelStore(worker["var_dir"] / "models").active_version("user_preference") != version
    row_status, row_reason = _version_row(worker, version)
    assert row_status == "candidate" and row_reason == reason
