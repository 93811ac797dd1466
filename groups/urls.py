"""Listening-room pages (the live part speaks over ``/ws/rooms/<code>/``)."""

from __future__ import annotations

from django.urls import path

from groups import views

app_name = "rooms"

urlpatterns = [
    path("", views.index, name="index"),
    path("new", views.room_new, name="new"),
    path("find", views.room_find, name="find"),
    path("<str:code>/", views.room_page, name="room"),
    path("<str:code>/join", views.room_join_page, name="join"),
    path("<str:code>/tv", views.room_tv, name="tv"),
    path("<str:code>/leave", views.room_leave_page, name="leave"),
    path("<str:code>/recap", views.room_recap, name="recap"),
    path("<str:code>/recap/save", views.recap_save, name="recap-save"),
    path("<str:code>/qr.svg", views.room_qr, name="qr"),
]
