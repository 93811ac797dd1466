from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommender import views as recommender_views
from recommender.admin.inspector import recommendation_inspector

urlpatterns = [
    path("", recommender_views.home, name="home"),
    path("healthz", recommender_views.healthz, name="healthz"),
    path("discover/", recommender_views.discover, name="discover"),
    path("rooms/", include("groups.urls")),
    path(
        "admin/inspector/",
        admin.site.admin_view(recommendation_inspector),
        name="recommendation-inspector",
    ),
    path("admin/", admin.site.urls),
    path("spotify/", include("spotify_sync.urls")),
    path("api/v1/", include("recommender.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
]


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under ``/api/`` an unrouted URL answers the API's error shape, elsewhere the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": f"no endpoint at {request.path}", "extra": {}},
            status=404,
        )
    return page_not_found(request, exception)


handler404 = _not_found
