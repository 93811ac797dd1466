"""Spotify: the Web API client, the OAuth connection and the data-export import (issue 8).

``USE_SPOTIFY`` is on when ``SPOTIFY_CLIENT_ID`` is set. Without it the product still runs and
users can still import a Spotify data export (no API needed); the connect button explains what
to set. ``SPOTIFY_API_BASE`` and ``SPOTIFY_ACCOUNTS_BASE`` point the client elsewhere: the tests
and the demo point them at the local fake server (``python -m tests.spotify_sync.fake_spotify``).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from audotics.settings.env import env_bool, env_int, env_list, env_secret, env_str

__all__ = [
    "SPOTIFY_ACCOUNTS_BASE",
    "SPOTIFY_API_BASE",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "SPOTIFY_EXPORT_MAX_BYTES",
    "SPOTIFY_MAX_RETRIES",
    "SPOTIFY_MAX_RETRY_AFTER",
    "SPOTIFY_MIN_MS_PLAYED",
    "SPOTIFY_REDIRECT_URI",
    "SPOTIFY_REQUEST_TIMEOUT",
    "SPOTIFY_RETRY_BACKOFF",
    "SPOTIFY_RETRY_SLEEP_SCALE",
    "SPOTIFY_SCOPES",
    "USE_SPOTIFY",
]


def _base_url(name: str, default: str) -> str:
    value = env_str(name, default).rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{name}={value!r}: must start with https:// or http://")
    return value


SPOTIFY_CLIENT_ID = env_str("SPOTIFY_CLIENT_ID")
# Optional: the PKCE flow needs no secret; when set, token requests also authenticate the app
# with it (HTTP Basic), as a confidential client.
SPOTIFY_CLIENT_SECRET = env_secret("SPOTIFY_CLIENT_SECRET", "")
# Must match a redirect URI registered for the app; empty: built from the request's host.
SPOTIFY_REDIRECT_URI = env_str("SPOTIFY_REDIRECT_URI")
SPOTIFY_API_BASE = _base_url("SPOTIFY_API_BASE", "https://api.spotify.com")
SPOTIFY_ACCOUNTS_BASE = _base_url("SPOTIFY_ACCOUNTS_BASE", "https://accounts.spotify.com")
USE_SPOTIFY = env_bool("USE_SPOTIFY", bool(SPOTIFY_CLIENT_ID))
if USE_SPOTIFY and not SPOTIFY_CLIENT_ID:
    raise ImproperlyConfigured("USE_SPOTIFY=1 needs SPOTIFY_CLIENT_ID")

# Only what the integration uses: history, top items, library, playlists, and playback control.
SPOTIFY_SCOPES = env_list(
    "SPOTIFY_SCOPES",
    [
        "user-read-recently-played",
        "user-top-read",
        "user-library-read",
        "playlist-read-private",
        "playlist-read-collaborative",
        "user-read-playback-state",
        "user-modify-playback-state",
    ],
)

SPOTIFY_REQUEST_TIMEOUT = env_int("SPOTIFY_REQUEST_TIMEOUT", 10, minimum=1)  # seconds
# Our retry policy (spotipy's own urllib3 retries are off): 429 waits Retry-After, 5xx and
# connection errors back off SPOTIFY_RETRY_BACKOFF x 2^attempt ms; at most SPOTIFY_MAX_RETRIES.
SPOTIFY_MAX_RETRIES = env_int("SPOTIFY_MAX_RETRIES", 3, minimum=0)
SPOTIFY_RETRY_BACKOFF = env_int("SPOTIFY_RETRY_BACKOFF", 500, minimum=0)  # milliseconds
# A Retry-After longer than this (seconds) is not slept in-process: the Celery task retries later.
SPOTIFY_MAX_RETRY_AFTER = env_int("SPOTIFY_MAX_RETRY_AFTER", 30, minimum=0)
# Multiplies every wait; tests set 0 so that they never sleep for real.
SPOTIFY_RETRY_SLEEP_SCALE = 1.0

# Data export upload: the largest upload (all files, and all JSON inside a zip), in bytes.
SPOTIFY_EXPORT_MAX_BYTES = env_int("SPOTIFY_EXPORT_MAX_BYTES", 100 * 1024 * 1024, minimum=1)
# Plays shorter than this are skipped (Spotify's own threshold for counting a stream).
SPOTIFY_MIN_MS_PLAYED = env_int("SPOTIFY_MIN_MS_PLAYED", 30_000, minimum=0)
