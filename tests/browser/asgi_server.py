"""The project's ASGI app (HTTP and WebSockets) served by uvicorn in a thread of the test process.

pytest-django's ``live_server`` is WSGI only. The fixture needs ``transactional_db``: what the
test writes is committed, so the server's threads see it (SQLite's in-memory test database is a
shared-cache one, open to every thread of this process). The in-memory channel layer works for
the same reason: one process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

STARTUP_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AsgiServer:
    """uvicorn in a daemon thread; ``stop`` and ``start`` again keep the port (reconnect tests)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from audotics.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        server = self._server = uvicorn.Server(config)
        thread = self._thread = threading.Thread(target=server.run, name="asgi", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(STARTUP_SECONDS)
        self._server = self._thread = None


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[AsgiServer]:
    """``audotics.asgi:application`` on a free port (``.url``); stopped after the test."""
    server = AsgiServer()
    server.start()
    yield server
    server.stop()
