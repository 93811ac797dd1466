"""The services-mode layout: deploy/gunicorn.conf.py, deploy/nginx.conf, scripts/serve-services.

The integration test starts the real thing (nginx, gunicorn with 1 worker, uvicorn) on free
ports against a freshly migrated SQLite var dir, and checks where each kind of request lands.
Both nginx tests skip when nginx is not installed (`apt-get install nginx-light`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve-services"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


NGINX = _nginx()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="needs nginx (apt-get install nginx-light)")


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded default on var_dir: no service URLs, the real (not test) settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        AUDOTICS_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        PATH=f"{env.get('PATH', '/usr/bin:/bin')}:/usr/sbin",
        **extra,
    )
    return env


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _websocket_handshake(port: int, path: str) -> int:
    """The status line's code for a WebSocket upgrade (no Origin: channels answers 403)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request.encode())
        head = b""
        while b"\r\n" not in head:
            chunk = conn.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def test_gunicorn_config_reads_the_environment_and_pins_blas_to_one_thread() -> None:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    env.update(WEB_CONCURRENCY="3", GUNICORN_BIND="127.0.0.1:9123")
    code = (
        "import json, os, runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "keys = ('bind', 'workers', 'worker_class', 'threads', 'preload_app', 'accesslog'); "
        "print(json.dumps({'config': {k: ns[k] for k in keys}, "
        "'env': {k: os.environ.get(k) for k in sys.argv[2:]}, 'numpy': 'numpy' in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(GUNICORN_CONF), *BLAS_THREADS],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)

    assert seen["config"] == {
        "bind": ["127.0.0.1:9123"],
        "workers": 3,
        "worker_class": "sync",
        "threads": 1,
        "preload_app": False,
        "accesslog": None,
    }
    assert seen["env"] == dict.fromkeys(BLAS_THREADS, "1")
    assert not seen["numpy"]


def test_gunicorn_config_defaults() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "GUNICORN_BIND")}
    code = "import runpy, sys; ns = runpy.run_path(sys.argv[1]); print(ns['bind'], ns['workers'])"
    done = subprocess.run(
        [sys.executable, "-c", code, str(GUNICORN_CONF)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.split() == ["['127.0.0.1:8001']", "2"]


@needs_nginx
def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = _env(tmp_path / "var", PORT="18080", WSGI_PORT="18081", ASGI_PORT="18082")
    subprocess.run(
        [str(SCRIPT), "--render", str(run_dir)], env=env, check=True, timeout=60, cwd=ROOT
    )
    conf = run_dir / "nginx.conf"
    text = conf.read_text()

    checked = subprocess.run(
        [str(NGINX), "-t", "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    assert "@" not in text  # every placeholder replaced
    assert "listen 127.0.0.1:18080;" in text
    assert "server 127.0.0.1:18081;" in text and "server 127.0.0.1:18082;" in text
    assert f"alias {(tmp_path / 'var' / 'staticfiles').resolve()}/;" in text


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    public: int
    wsgi: int
    asgi: int
    access_log: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """scripts/serve-services on free ports; always stopped, its whole process group killed."""
    public, wsgi, asgi = _free_ports(3)
    access_log = tmp_path / "gunicorn-access.log"
    env = _env(
        tmp_path / "var",
        PORT=str(public),
        WSGI_PORT=str(wsgi),
        ASGI_PORT=str(asgi),
        WEB_CONCURRENCY="1",
        RUN_DIR=str(tmp_path / "run"),
        GUNICORN_ACCESS_LOG=str(access_log),
    )
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v0"]
    subprocess.run(migrate, env=env, cwd=ROOT, check=True, timeout=120)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(SCRIPT)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve-services exited: {log_path.read_text()}")
            try:
                if _get(f"http://127.0.0.1:{public}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer in 30 s: {log_path.read_text()}")
            time.sleep(0.2)
        yield Served(proc, public, wsgi, asgi, access_log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the script's trap stops its children
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group
        proc.wait(timeout=10)


@needs_nginx
def test_nginx_routes_pages_to_gunicorn_ws_to_uvicorn_and_static_itself(served: Served) -> None:
    base = f"http://127.0.0.1:{served.public}"

    status, body = _get(f"{base}/healthz")
    assert (status, json.loads(body)["status"]) == (200, "ok")

    # The same upgrade: uvicorn (channels) refuses it with 403, gunicorn (Django) with a 404
    # page; through nginx it must get uvicorn's answer.
    direct_asgi = _websocket_handshake(served.asgi, "/ws/direct-check/")
    direct_wsgi = _websocket_handshake(served.wsgi, "/ws/direct-check/")
    assert direct_asgi != direct_wsgi
    assert _websocket_handshake(served.public, "/ws/deploy-check/") == direct_asgi

    status, body = _get(f"{base}/static/css/app.css")
    assert (status, body) == (200, (ROOT / "static" / "css" / "app.css").read_bytes())

    # Gunicorn's one worker logs each request before it takes the next: once the second
    # /healthz is in its access log, everything nginx sent it before is too.
    assert _get(f"{base}/healthz")[0] == 200
    deadline = time.monotonic() + 10
    while served.access_log.read_text().count("GET /healthz") < 2:
        assert time.monotonic() < deadline, served.access_log.read_text()
        time.sleep(0.05)
    seen = served.access_log.read_text()
    assert "/ws/direct-check/" in seen  # the log works
    assert "/ws/deploy-check/" not in seen  # nginx sent the upgrade to uvicorn
    assert "/static/" not in seen  # nginx served it from STATIC_ROOT

    # Ctrl-C's twin: SIGTERM to the script stops all three.
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=30) == 143
    for port in (served.public, served.wsgi, served.asgi):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
