"""Gunicorn settings for the WSGI process (REST and pages) in services mode.

    gunicorn -c deploy/gunicorn.conf.py        # scripts/serve-services does this behind nginx

Environment: ``GUNICORN_BIND`` (default 127.0.0.1:8001), ``WEB_CONCURRENCY`` (workers, default
2), ``GUNICORN_TIMEOUT`` (seconds, default 120: a worker's first recommendation loads the
models), ``GUNICORN_ACCESS_LOG`` (a path or ``-``; default off), ``GUNICORN_CONTROL_SOCKET``
(a path for ``gunicornc``; default none: gunicorn's default is one per-user path, which two
servers on one machine would fight over).

Sync workers, one thread each, no preload: every worker imports the app and loads the ML models
itself, lazily on first use, so a model reload never touches the master. Sync workers close the
connection after each response (gunicorn's design), which is why nginx sits in front.
"""

from __future__ import annotations

import os

# Before the app (numpy, torch, faiss) is imported in a worker: one BLAS/OpenMP thread per
# process. At 32 clients on 2 cores, multi-threaded BLAS halved the throughput.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audotics.settings.base")

wsgi_app = "audotics.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8001"]
workers = int(os.environ.get("WEB_CONCURRENCY", "").strip() or "2")
worker_class = "sync"
threads = 1
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "").strip() or "120")
graceful_timeout = 20
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "").strip() or None
errorlog = "-"
# X-Forwarded-Proto is trusted from 127.0.0.1 only (gunicorn's default forwarded_allow_ips).
proc_name = "audotics-web"
_control = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = not _control
if _control:
    control_socket = _control
