"""Two server processes, one room: members on either see each other (Redis pub/sub layer).

Services mode runs several ASGI processes; a room's members land on any of them. Two uvicorn
processes share one SQLite database (prepared by ``live_room.py``) and Redis (``REDIS_URL``,
``RedisPubSubChannelLayer``, a channel prefix of this run's own).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A room of 3 in a fresh database, and two uvicorn processes serving it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        AUDOTICS_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.groups.consumers.server_settings",
        AUDOTICS_TEST_CHANNEL_PREFIX=f"audotics-test-{uuid.uuid4().hex[:12]}",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
    )
    setup = subprocess.run(
        [sys.executable, "-m", "tests.groups.consumers.live_room", "3"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr[-3000:]
    room = json.loads(setup.stdout.strip().splitlines()[-1])
    env["REDIS_URL"] = os.environ["REDIS_URL"]
    ports = [_free_port(), _free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"server-{n}.log" for n in (1, 2)]
    try:
        for port, log in zip(ports, logs, strict=True):
            argv = [
                str(Path(sys.executable).parent / "uvicorn"), "audotics.asgi:application",
                "--host", HOST, "--port", str(port), "--lifespan", "off", "--no-access-log",
                "--log-level", "warning",
            ]  # fmt: skip
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        argv,
                        env=env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 60
        for port, proc, log in zip(ports, procs, logs, strict=True):
            while not _answers(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"a server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        yield {"ports": ports, **room}
    finally:
        for proc in procs:
            _stop(proc)


async def _frame(ws: Any, kind: str, check: Callable[[Any], bool] = lambda f: True) -> Any:
    """The next frame of type ``kind`` that passes ``check`` (others skipped)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind and check(frame):
                return frame


def _votes(frame: dict[str, Any], entry: int) -> dict[str, int]:
    return next((dict(e["votes"]) for e in frame["room"]["queue"] if e["id"] == entry), {})


async def test_members_on_two_servers_see_each_others_votes(two_servers: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    code, users, cookies = two_servers["code"], two_servers["users"], two_servers["cookies"]
    first, second = two_servers["ports"]

    def socket_to(port: int, member: int) -> Any:
        return connect(
            f"ws://{HOST}:{port}/ws/rooms/{code}/",
            origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
            additional_headers={"Cookie": cookies[member]},
            open_timeout=TIMEOUT,
        )

    async with socket_to(first, 1) as a, socket_to(second, 2) as b:
        entry = (await _frame(a, "state"))["room"]["queue"][0]["id"]
        await _frame(b, "state")
        # presence crosses servers: b's arrival reaches a
        await _frame(a, "state", lambda f: all(m["online"] for m in f["room"]["members"][1:]))

        await a.send(json.dumps({"type": "vote", "entry": entry, "value": 1}))
        votes = await _frame(b, "votes")
        assert (votes["by"], votes["entry"], votes["up"], votes["down"]) == (users[1], entry, 1, 0)
        await _frame(b, "state", lambda f: _votes(f, entry) == {str(users[1]): 1})

        await b.send(json.dumps({"type": "vote", "entry": entry, "value": -1}))
        votes = await _frame(a, "votes", lambda f: f["by"] == users[2])
        assert (votes["entry"], votes["up"], votes["down"], votes["value"]) == (entry, 1, 1, -1)
        both = {str(users[1]): 1, str(users[2]): -1}
        await _frame(a, "state", lambda f: _votes(f, entry) == both)
        await _frame(b, "state", lambda f: _votes(f, entry) == both)
