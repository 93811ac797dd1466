from __future__ import annotations

from django.urls import path

from recommender import apis

app_name = "recommender"

urlpatterns = [
    path("catalogue/summary", apis.CatalogueSummaryApi.as_view(), name="catalogue-summary"),
    path("me", apis.ProfileApi.as_view(), name="profile"),
    path("preferences/update", apis.PreferencesUpdateApi.as_view(), name="preferences-update"),
    path("feedback", apis.FeedbackCreateApi.as_view(), name="feedback"),
    path("tracks", apis.TrackListApi.as_view(), name="track-list"),
    path("tracks/<str:spotify_id>", apis.TrackDetailApi.as_view(), name="track-detail"),
    path(
        "tracks/<str:spotify_id>/similar", apis.TrackSimilarApi.as_view(), name="track-similar"
    ),
]
