"""Settings that run the whole product on embedded defaults; env vars upgrade it to services.

Embedded: SQLite, in-memory channel layer, eager Celery, local-memory cache.
Services: DATABASE_URL (PostgreSQL), REDIS_URL (cache + channels-redis + Celery broker),
CELERY_BROKER_URL (another broker, e.g. RabbitMQ).
"""

from __future__ import annotations

from pathlib import Path

from audotics.settings.components import drf
from audotics.settings.components import ml as _ml  # (also sets the HF offline flags)
from audotics.settings.components.celery import celery_settings
from audotics.settings.components.database import database_settings
from audotics.settings.components.logging import logging_settings
from audotics.settings.components.redis import cache_settings, channel_layer_settings
from audotics.settings.components.spotify import *  # noqa: F403  (the SPOTIFY_* settings)
from audotics.settings.env import env_bool, env_int, env_list, env_secret, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("AUDOTICS_VAR_DIR") or BASE_DIR / "var")
DATA_DIR = Path(env_str("AUDOTICS_DATA_DIR") or BASE_DIR / "data")
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite file, media, model store (gitignored)

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret(
    "SECRET_KEY", "django-insecure-audotics-embedded-default-only", required=not DEBUG
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "recommender",
    "groups",
    "spotify_sync",
    "experiments",
    "monitoring",
]

MIDDLEWARE = [
    "monitoring.middleware.RequestTimingMiddleware",  # first: times the whole stack
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "audotics.urls"
WSGI_APPLICATION = "audotics.wsgi.application"
ASGI_APPLICATION = "audotics.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_settings(
        env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite")),
        sqlite_path=VAR_DIR / "audotics.sqlite3",
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "recommender.User"

_redis = env_url("REDIS_URL", schemes=("redis", "rediss"))
REDIS_URL = env_str("REDIS_URL") if _redis is not None else None
CACHES = {"default": cache_settings(REDIS_URL)}
CHANNEL_LAYERS = {"default": channel_layer_settings(REDIS_URL)}

_broker = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "pyamqp", "memory"))
globals().update(
    celery_settings(
        env_str("CELERY_BROKER_URL") if _broker is not None else REDIS_URL,
        force_eager=env_bool("CELERY_TASK_ALWAYS_EAGER", False),
    )
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = drf.REST_FRAMEWORK
SPECTACULAR_SETTINGS = drf.SPECTACULAR_SETTINGS

LOGIN_URL = "/admin/login/"
LOGGING = logging_settings(env_str("LOG_LEVEL") or "INFO")

# Serving: how long a listener's or group's recommendations stay cached (0: never), and the
# online bandit's exploration rate and step size.
RECOMMENDATIONS_CACHE_SECONDS = env_int("AUDOTICS_RECS_CACHE_SECONDS", 300, minimum=0)
HYBRID_BANDIT_EXPLORE = env_int("HYBRID_BANDIT_EXPLORE_PERCENT", 10, minimum=0) / 100
HYBRID_BANDIT_LEARNING_RATE = 0.1

# Machine learning: the versioned model store (rule 20).
ML_STORE_DIR = Path(env_str("AUDOTICS_MODEL_STORE") or VAR_DIR / "models")
PROMOTION = _ml.PROMOTION
