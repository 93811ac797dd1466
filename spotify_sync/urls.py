from __future__ import annotations

from django.urls import path

from spotify_sync import views

app_name = "spotify_sync"

urlpatterns = [
    path("", views.spotify_page, name="spotify"),
    path("connect", views.spotify_connect, name="connect"),
    path("callback", views.spotify_callback, name="callback"),
    path("disconnect", views.spotify_disconnect, name="disconnect"),
    path("sync", views.spotify_sync_now, name="sync"),
    path("export", views.spotify_export_upload, name="export"),
]
