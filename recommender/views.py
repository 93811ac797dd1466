"""Server-rendered pages of the catalogue."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from recommender import selectors


def home(request: HttpRequest) -> HttpResponse:
    counts = selectors.catalogue_counts()
    context = {
        "counts": counts,
        "genres": selectors.genre_list_with_track_counts(),
        "top_artists": selectors.top_artist_list(limit=12),
        "top_tags": selectors.top_tag_list(limit=24),
        "popular_tracks": selectors.popular_track_list(limit=10),
        "database_vendor": connection.vendor,
    }
    return render(request, "recommender/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
