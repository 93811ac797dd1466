"""REST endpoints of the catalogue (the recommendation endpoints arrive with the API issue)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommender import selectors


class CatalogueSummaryApi(APIView):
    """Row counts of the loaded catalogue and listening data."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer[selectors.CatalogueCounts]):
        tracks = serializers.IntegerField()
        artists = serializers.IntegerField()
        linked_artists = serializers.IntegerField()
        genres = serializers.IntegerField()
        playlists = serializers.IntegerField()
        tags = serializers.IntegerField()
        listeners = serializers.IntegerField()
        artist_plays = serializers.IntegerField()
        total_play_count = serializers.IntegerField()
        tag_assignments = serializers.IntegerField()
        friendships = serializers.IntegerField()
        mood_labels = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        counts = selectors.catalogue_counts()
        return Response(self.OutputSerializer(counts).data)
