"""A fresh database and model store with two hybrid versions, for a server process.

``python -m tests.recommender.live.live_store`` (with ``AUDOTICS_VAR_DIR`` pointing at an empty
folder) migrates a new SQLite database there, imports the small fixture catalogue and Last.fm
sample, trains the tiny hybrid twice (versions 0001 and 0002; 0002 active) and prints one JSON
line: ``{"token", "versions"}`` (an API token of the listener with most plays). With the argument
``user_model`` it imports the Last.fm sample and trains the tiny user-preference model instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ROOT = Path(__file__).resolve().parents[3]


def process_env(var_dir: Path) -> dict[str, str]:
    """The environment of a server or worker process on the embedded default in ``var_dir``
    (the suite's database, cache and broker URLs removed)."""
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        AUDOTICS_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
    )
    return env


def main() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from rest_framework.authtoken.models import Token

    from recommender.models import User
    from recommender.services.hybrid import hybrid_train
    from recommender.services.imports.lastfm import lastfm_import
    from recommender.services.imports.moods import moods_import
    from recommender.services.imports.tracks import tracks_import

    call_command("migrate", interactive=False, verbosity=0)
    tracks_import(path=FIXTURES / "catalogue_small.csv")
    lastfm_import(directory=FIXTURES / "lastfm-small")
    moods_import(path=FIXTURES / "data_moods_small.csv")
    versions = [hybrid_train(tiny=True).version for _ in range(2)]
    listener = (
        User.objects.filter(profile__lastfm_user_id__isnull=False)
        .annotate(n=Count("artistplaycount"))
        .order_by("-n", "pk")
        .first()
    )
    assert listener is not None
    return {"token": Token.objects.create(user=listener).key, "versions": versions}


def main_user_model() -> dict[str, Any]:
    """The Last.fm sample and the tiny user-preference model 0001, for a retrain worker."""
    import django

    django.setup()
    from django.core.management import call_command

    from recommender.services.imports.lastfm import lastfm_import
    from recommender.services.training import model_train

    call_command("migrate", interactive=False, verbosity=0)
    lastfm_import(directory=FIXTURES / "lastfm-small")
    return {"versions": [model_train(name="user_preference", tiny=True).version]}


if __name__ == "__main__":
    import sys

    print(json.dumps(main_user_model() if sys.argv[1:] == ["user_model"] else main()))
