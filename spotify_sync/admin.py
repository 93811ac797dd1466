# mypy: allow-any-generics
# (as in recommender/admin: ModelAdmin[...] subscripts need django-stubs-ext at run time)
"""Curators see connections and sync runs, never tokens; nobody edits them from the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from spotify_sync.models import SpotifyConnection, SyncCursor, SyncRun


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SpotifyConnection)
class SpotifyConnectionAdmin(_ReadOnly):
    list_display = ("user", "spotify_user_id", "display_name", "product", "connected_at")
    search_fields = ("user__username", "spotify_user_id", "display_name")
    exclude = ("tokens",)  # encrypted, and still never shown


@admin.register(SyncRun)
class SyncRunAdmin(_ReadOnly):
    list_display = ("pk", "user", "status", "attempts", "started_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("user__username",)


@admin.register(SyncCursor)
class SyncCursorAdmin(_ReadOnly):
    list_display = ("user", "resource", "value", "updated_at")
    list_filter = ("resource",)
