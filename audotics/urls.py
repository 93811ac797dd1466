from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommender import views as recommender_views

urlpatterns = [
    path("", recommender_views.home, name="home"),
    path("healthz", recommender_views.healthz, name="healthz"),
    path("discover/", recommender_views.discover, name="discover"),
    path("admin/", admin.site.urls),
    path("spotify/", include("spotify_sync.urls")),
    path("api/v1/", include("recommender.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
]
