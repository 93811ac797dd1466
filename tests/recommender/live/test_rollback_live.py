"""Rollback reaches a running server without a restart (issue 9's acceptance point).

A uvicorn process serves the API from a fresh database and model store holding two hybrid
versions (0002 active); ``manage.py rollback hybrid``, run as another process, flips the store's
ACTIVE pointer; the server's registry sees the pointer change within its check interval (2 s)
and the next recommendations name version 0001.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from tests.recommender.live.live_store import process_env

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    env = process_env(tmp_path)
    setup = subprocess.run(
        [sys.executable, "-m", "tests.recommender.live.live_store"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr[-3000:]
    fixture = json.loads(setup.stdout.strip().splitlines()[-1])
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "audotics.asgi:application", "--host", HOST,
         "--port", str(port), "--lifespan", "off", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(OSError):
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            time.sleep(0.2)
        yield {**fixture, "port": port, "env": env}
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def _served_version(server: dict[str, Any]) -> str:
    request = urllib.request.Request(
        f"http://{HOST}:{server['port']}/api/v1/recommendations/user?n=5",
        headers={"Authorization": f"Token {server['token']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    return str(body["model_versions"]["hybrid"])


def test_a_rollback_reaches_the_running_server_within_seconds(server: dict[str, Any]) -> None:
    assert server["versions"] == ["0001", "0002"]
    assert _served_version(server) == "0002"

    rolled = subprocess.run(
        [sys.executable, "manage.py", "rollback", "hybrid"],
        env=server["env"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr
    flipped = time.monotonic()

    seen = _served_version(server)
    while seen != "0001" and time.monotonic() - flipped < 10:
        time.sleep(0.25)
        seen = _served_version(server)
    assert seen == "0001"
    assert time.monotonic() - flipped < 10  # the registry re-reads the pointer every 2 s
