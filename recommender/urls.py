from __future__ import annotations

from django.urls import path

from recommender import apis, apis_recommendations

app_name = "recommender"

urlpatterns = [
    path("ping", apis_recommendations.PingApi.as_view(), name="ping"),
    path(
        "recommendations/user",
        apis_recommendations.UserRecommendationsApi.as_view(),
        name="recommendations-user",
    ),
    path(
        "recommendations/group",
        apis_recommendations.GroupRecommendationsApi.as_view(),
        name="recommendations-group",
    ),
    path(
        "compatibility/score",
        apis_recommendations.CompatibilityScoreApi.as_view(),
        name="compatibility-score",
    ),
    path("catalogue/summary", apis.CatalogueSummaryApi.as_view(), name="catalogue-summary"),
    path("me", apis.ProfileApi.as_view(), name="profile"),
    path("preferences/update", apis.PreferencesUpdateApi.as_view(), name="preferences-update"),
    path("feedback", apis.FeedbackCreateApi.as_view(), name="feedback"),
    path("tracks", apis.TrackListApi.as_view(), name="track-list"),
    path("tracks/<str:spotify_id>", apis.TrackDetailApi.as_view(), name="track-detail"),
    path("tracks/<str:spotify_id>/similar", apis.TrackSimilarApi.as_view(), name="track-similar"),
]
