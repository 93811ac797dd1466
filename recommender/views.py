"""Server-rendered pages of the catalogue."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from audotics.errors import ApplicationError
from recommender import selectors
from recommender.forms import SeedsForm


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


def discover(request: HttpRequest) -> HttpResponse:
    """Cold start on a page: a few picks in, content-based tracks out at once."""
    form = SeedsForm(request.GET or None)
    tracks: list[tuple[Any, float]] = []
    problem = ""
    if form.is_bound and form.is_valid():
        from recommender.selectors_content import tracks_for_seeds  # loads the content model

        try:
            tracks = tracks_for_seeds(
                artists=form.cleaned_data["artists"],
                tags=form.cleaned_data["tags"],
                genre=form.cleaned_data["genre"] or None,
                mood=form.cleaned_data["mood"] or None,
                n=20,
            )
        except ApplicationError as exc:
            problem = exc.message
    context = {
        "form": form,
        "tracks": tracks,
        "problem": problem,
        "artist_suggestions": selectors.top_artist_list(limit=40),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "recommender/discover.html", context, status=status)
