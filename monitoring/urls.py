from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring import views

app_name = "monitoring"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("metrics.json", views.MetricsJsonApi.as_view(), name="metrics-json"),
]
