# Audotics images for the services mode (PostgreSQL + Redis; see audotics/settings/base.py).
#
# NOTE: this file cannot be built on the development machine (there is no Docker engine there),
# so it has never been built or run. It is kept deliberately simple: one `base` stage with the
# virtualenv, the code and the collected static files, and one small target per process.
#
#   docker build --target web    -t audotics-web .     # REST + pages, gunicorn (WSGI), :8000
#   docker build --target asgi   -t audotics-asgi .    # WebSockets, uvicorn (ASGI), :8001
#   docker build --target worker -t audotics-worker .  # celery worker
#   docker build --target beat   -t audotics-beat .    # celery beat, DatabaseScheduler
#
# Runtime environment (all targets): DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS
# (keep 127.0.0.1 in it for the web HEALTHCHECK). Run `python manage.py migrate` once per
# release, e.g. `docker run --rm audotics-web python manage.py migrate`, and optionally
# `python manage.py load_demo_data --if-empty --no-progress`. Mount a volume at /app/var/media
# or /app/var/models, not over /app/var (the collected static files are in /app/var/staticfiles).

# ---------------------------------------------------------------------------------------- base
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=audotics.settings.base \
    AUDOTICS_VAR_DIR=/app/var \
    DEBUG=0 \
    OPENBLAS_NUM_THREADS=1 \
    DVC_NO_ANALYTICS=1

# libgomp1: the OpenMP runtime, for any of torch / faiss-cpu / implicit wheels that do not
# bundle their own. psycopg2-binary needs no system packages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system audotics \
    && useradd --system --gid audotics --home-dir /app --shell /usr/sbin/nologin audotics

RUN python -m venv "$VIRTUAL_ENV"

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
# torch==2.13.0 on PyPI is the CUDA build for linux x86_64 (several GB): install the CPU wheel
# from PyTorch's index first; requirements.txt's `torch==2.13.0` is then already satisfied
# (the local label of 2.13.0+cpu is ignored when matching).
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r requirements.txt \
    && pip check

COPY --chown=audotics:audotics . .

# collectstatic only needs settings, not a database; the secret is a build-time placeholder.
RUN SECRET_KEY=collectstatic-build-only python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var/media /app/var/models \
    && chown -R audotics:audotics /app/var

USER audotics

# ----------------------------------------------------------------------------------------- web
# REST and pages on WSGI workers: 4-6x the requests/s of the same view under ASGI (NOTES.md).
FROM base AS web
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(r.status != 200)"]
CMD ["gunicorn", "audotics.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]

# ---------------------------------------------------------------------------------------- asgi
# The WebSocket path (rooms). uvicorn serves WebSockets only when the `websockets` (or
# `wsproto`) package is installed; requirements.txt does not list it yet.
FROM base AS asgi
EXPOSE 8001
CMD ["uvicorn", "audotics.asgi:application", "--host", "0.0.0.0", "--port", "8001", "--workers", "2"]

# -------------------------------------------------------------------------------------- worker
FROM base AS worker
CMD ["celery", "-A", "audotics", "worker", "--loglevel", "INFO"]

# ---------------------------------------------------------------------------------------- beat
# The schedule lives in the database (django-celery-beat's tables, editable in the admin).
FROM base AS beat
CMD ["celery", "-A", "audotics", "beat", "--loglevel", "INFO", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
