from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from audotics.settings.components.celery import celery_settings
from audotics.settings.components.database import database_settings
from audotics.settings.components.redis import cache_settings, channel_layer_settings
from audotics.settings.env import env_bool, env_int, env_secret, env_url, parse_service_url

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_default_is_sqlite(tmp_path: Path) -> None:
    config = database_settings(None, sqlite_path=tmp_path / "db.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == tmp_path / "db.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_database_url_switches_to_postgres(tmp_path: Path) -> None:
    url = parse_service_url(
        "DATABASE_URL", "postgres://app:s%40cret@db.internal:6543/music", schemes=("postgres",)
    )

    config = database_settings(url, sqlite_path=tmp_path / "x")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("music", "app", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6543")


def test_redis_url_switches_cache_channels_and_broker() -> None:
    assert cache_settings(None)["BACKEND"].endswith("LocMemCache")
    assert channel_layer_settings(None)["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert celery_settings(None, force_eager=False)["CELERY_TASK_ALWAYS_EAGER"] is True

    url = "redis://127.0.0.1:6379/0"
    assert cache_settings(url)["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    layer = channel_layer_settings(url)
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == [url]
    broker = celery_settings(url, force_eager=False)
    assert broker["CELERY_BROKER_URL"] == url
    assert broker["CELERY_TASK_ALWAYS_EAGER"] is False


@pytest.mark.parametrize(
    ("helper", "value", "message"),
    [
        (lambda: env_bool("X_FLAG"), "maybe", "X_FLAG='maybe' is not a boolean"),
        (lambda: env_int("X_FLAG", 1), "ten", "X_FLAG='ten' is not an integer"),
        (lambda: env_int("X_FLAG", 1, minimum=2), "1", "X_FLAG=1 must be at least 2"),
        (lambda: env_url("X_FLAG", schemes=("redis",)), "http://x", "scheme must be one of"),
        (lambda: env_url("X_FLAG", schemes=("redis",)), "redis://h:port/0", "port is not a number"),
    ],
)
def test_bad_env_values_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch, helper: object, value: str, message: str
) -> None:
    monkeypatch.setenv("X_FLAG", value)

    with pytest.raises(ImproperlyConfigured) as caught:
        helper()  # type: ignore[operator]

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_good_env_values_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ON", "Yes")
    monkeypatch.setenv("X_N", " 42 ")

    assert env_bool("X_ON") is True
    assert env_bool("X_UNSET", default=True) is True
    assert env_int("X_N", 1) == 42
    assert env_secret("X_UNSET", "dev") == "dev"
    with pytest.raises(ImproperlyConfigured, match="X_UNSET must be set"):
        env_secret("X_UNSET", "dev", required=True)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(env)
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_reports_a_bad_setting_in_one_line() -> None:
    result = _manage("check", DATABASE_URL="mysql://nope")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "configuration error: DATABASE_URL='mysql://nope': scheme must be one of "
        "postgres://, postgresql://, sqlite://"
    ]


def test_settings_set_huggingface_offline_once(tmp_path: Path) -> None:
    result = _manage(
        "shell",
        "-c",
        "import os; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])",
        AUDOTICS_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1 1"
