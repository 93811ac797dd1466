from __future__ import annotations

from django.apps import AppConfig


class SpotifySyncConfig(AppConfig):
    name = "spotify_sync"
    verbose_name = "Spotify sync"
