from __future__ import annotations

from django.urls import path

from recommender import apis

app_name = "recommender"

urlpatterns = [
    path("catalogue/summary", apis.CatalogueSummaryApi.as_view(), name="catalogue-summary"),
]
