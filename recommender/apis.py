"""REST endpoints: the catalogue (summary, tracks, similar tracks) and the listener (profile,
preferences, feedback)."""

from __future__ import annotations

from typing import Any, cast

from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audotics.api.pagination import Pagination
from ml.content.index import Filters
from recommender import selectors
from recommender.models import AudioFeatures, FeedbackEvent, Mood, Track, User
from recommender.services.listeners import (
    UnknownNames,
    feedback_record,
    listener_preferences_update,
)

AUDIO_FIELDS = [
    f for f in AudioFeatures._meta.get_fields() if f.concrete and f.name not in ("id", "track")
]


class QueryParams(serializers.Serializer[dict[str, Any]]):
    """Query parameters read strictly: each at most once, and blank only where text may be blank.

    DRF reads a query string like an HTML form: a repeated parameter silently keeps its last
    value and a blank optional one (``?n=``) counts as absent. An API client that sends either
    has a bug, so both are field errors here instead of a quiet default.
    """

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, QueryDict):
            errors: dict[str, list[str]] = {}
            for name, field in self.fields.items():
                values = data.getlist(name)
                if len(values) > 1 and not isinstance(field, serializers.ListField):
                    errors[name] = ["Give this parameter at most once."]
                elif values == [""] and not getattr(field, "allow_blank", False):
                    errors[name] = ["This field may not be blank."]
            if errors:
                raise serializers.ValidationError(errors)
        validated: dict[str, Any] = super().to_internal_value(data)
        return validated


class CatalogueSummaryApi(APIView):
    """Row counts of the loaded catalogue and listening data."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer[selectors.CatalogueCounts]):
        class Meta:
            ref_name = "CatalogueSummary"

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


class _TrackSerializer(serializers.Serializer[Track]):
    spotify_id = serializers.CharField()
    name = serializers.CharField()
    artist = serializers.CharField(source="artist.name")
    album = serializers.CharField(source="album_name")
    release_year = serializers.IntegerField(allow_null=True)
    popularity = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    predicted_genre = serializers.SerializerMethodField()

    def get_predicted_genre(self, obj: Track) -> str | None:
        prediction = getattr(obj, "prediction", None)
        return prediction.genre if prediction is not None else None


class TrackListApi(APIView):
    """Search the catalogue by name, artist or album; filter by genre and mood."""

    pagination_class = Pagination  # the schema documents limit/offset and the paged envelope

    class InputSerializer(QueryParams):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
        # Blank means "no filter" (what a search form sends for "any").
        genre = serializers.CharField(required=False, allow_blank=True, max_length=100)
        mood = serializers.ChoiceField(required=False, allow_blank=True, choices=Mood.choices)
        # Read by the paginator, which would silently fall back on a bad value: reject it here.
        limit = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=Pagination.max_limit,
            help_text=f"page size, {Pagination.default_limit} by default",
        )
        offset = serializers.IntegerField(
            required=False, min_value=0, help_text="index of the first result"
        )

    class OutputSerializer(_TrackSerializer):
        class Meta:
            ref_name = "TrackListItem"

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        tracks = selectors.track_list(
            query=params.validated_data["q"].strip(),
            genre=params.validated_data.get("genre") or None,
            mood=params.validated_data.get("mood") or None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tracks, request, view=self)
        return paginator.get_paginated_response(
            self.OutputSerializer(cast(Any, page), many=True).data
        )


class TrackDetailApi(APIView):
    """One track: metadata, audio features, genres, moods (curated and predicted)."""

    class OutputSerializer(_TrackSerializer):
        genres = serializers.SerializerMethodField()

        class Meta:
            ref_name = "TrackDetail"

        moods = serializers.SerializerMethodField()
        audio_features = serializers.SerializerMethodField()

        def get_genres(self, obj: Track) -> list[str]:
            return sorted(g.name for g in obj.genres.all())

        def get_moods(self, obj: Track) -> list[dict[str, Any]]:
            return [
                {"mood": m.mood, "source": m.source, "probability": round(m.probability, 4)}
                for m in obj.moods.all()
            ]

        def get_audio_features(self, obj: Track) -> dict[str, Any] | None:
            features = getattr(obj, "audio_features", None)
            if features is None:
                return None
            return {f.name: getattr(features, f.name) for f in AUDIO_FIELDS}

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, spotify_id: str) -> Response:
        track = selectors.track_get(spotify_id=spotify_id)
        return Response(self.OutputSerializer(track).data)


class TrackSimilarApi(APIView):
    """The tracks nearest to one track by the content model, with optional filters."""

    class InputSerializer(QueryParams):
        n = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
        genre = serializers.CharField(required=False, allow_blank=True, max_length=100)
        mood = serializers.ChoiceField(required=False, allow_blank=True, choices=Mood.choices)
        tempo_min = serializers.FloatField(required=False, min_value=0, max_value=300)
        tempo_max = serializers.FloatField(required=False, min_value=0, max_value=300)
        exclude_same_artist = serializers.BooleanField(required=False, default=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            low, high = attrs.get("tempo_min"), attrs.get("tempo_max")
            if low is not None and high is not None and low > high:
                raise serializers.ValidationError({"tempo_max": ["must be at least tempo_min"]})
            return attrs

    class OutputSerializer(_TrackSerializer):
        similarity = serializers.FloatField()

        class Meta:
            ref_name = "SimilarTrack"

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer(many=True))
    def get(self, request: Request, spotify_id: str) -> Response:
        from recommender.selectors_content import similar_tracks  # loads the content model

        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        track = selectors.track_get(spotify_id=spotify_id)
        filters = Filters(
            exclude_artists=frozenset({track.artist.name_key})
            if data["exclude_same_artist"]
            else frozenset(),
            genre=data.get("genre") or None,
            mood=data.get("mood") or None,
            tempo_min=data.get("tempo_min"),
            tempo_max=data.get("tempo_max"),
        )
        found = similar_tracks(track=track, n=data["n"], filters=filters)
        for t, score in found:
            t.similarity = round(score, 4)  # type: ignore[attr-defined]
        return Response(self.OutputSerializer(cast(Any, [t for t, _ in found]), many=True).data)


def _user_id(request: Request) -> int:
    pk = request.user.pk
    assert isinstance(pk, int), "IsAuthenticated lets only signed-in users through"
    return pk


class _ProfileSerializer(serializers.Serializer[User]):
    class Meta:
        ref_name = "Profile"

    username = serializers.CharField()
    display_name = serializers.CharField()
    origin = serializers.CharField(
        source="profile.source", help_text="signup, lastfm, spotify, guest"
    )
    allow_explicit = serializers.BooleanField(source="profile.allow_explicit")
    seed_artists = serializers.SerializerMethodField()
    seed_genres = serializers.SerializerMethodField()
    plays = serializers.SerializerMethodField()

    def get_seed_artists(self, obj: User) -> list[str]:
        return [a.name for a in obj.profile.seed_artists.order_by("name")]

    def get_seed_genres(self, obj: User) -> list[str]:
        return [g.name for g in obj.profile.seed_genres.order_by("name")]

    def get_plays(self, obj: User) -> int:
        return selectors.listener_play_total(user=obj)


class ProfileApi(APIView):
    """The signed-in listener: profile, preferences and how much listening we know of."""

    @extend_schema(responses=_ProfileSerializer)
    def get(self, request: Request) -> Response:
        user = selectors.listener_get(user_id=_user_id(request))
        return Response(_ProfileSerializer(user).data)


class PreferencesUpdateApi(APIView):
    """Replace the listener's seed artists and genres and the explicit filter (any subset)."""

    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "PreferencesUpdate"

        seed_artists = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, max_length=50
        )
        seed_genres = serializers.ListField(
            child=serializers.CharField(max_length=100), required=False, max_length=30
        )
        allow_explicit = serializers.BooleanField(required=False)

    @extend_schema(request=InputSerializer, responses=_ProfileSerializer)
    def post(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user = selectors.listener_get(user_id=_user_id(request))
        try:
            listener_preferences_update(user=user, **params.validated_data)
        except UnknownNames as exc:
            raise serializers.ValidationError(exc.extra["fields"]) from None
        return Response(_ProfileSerializer(selectors.listener_get(user_id=user.pk)).data)


class FeedbackCreateApi(APIView):
    """Record a play, skip, like, dislike or vote (±1) on a track, alone or in a group."""

    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "FeedbackCreate"

        track = serializers.CharField(max_length=22, help_text="Spotify id")
        kind = serializers.ChoiceField(choices=FeedbackEvent.Kind.choices)
        value = serializers.IntegerField(required=False, default=1, min_value=-1, max_value=1)
        group = serializers.IntegerField(required=False, min_value=1)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["kind"] == FeedbackEvent.Kind.VOTE and attrs["value"] not in (-1, 1):
                raise serializers.ValidationError({"value": ["a vote is 1 or -1"]})
            if attrs["kind"] != FeedbackEvent.Kind.VOTE and attrs["value"] != 1:
                raise serializers.ValidationError({"value": ["only votes carry a value"]})
            return attrs

    class OutputSerializer(serializers.Serializer[FeedbackEvent]):
        class Meta:
            ref_name = "FeedbackEvent"

        id = serializers.IntegerField()
        track = serializers.CharField(source="track.spotify_id")
        kind = serializers.CharField()
        value = serializers.IntegerField()
        group = serializers.IntegerField(source="group_id", allow_null=True)
        created_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        track = selectors.track_get(spotify_id=data["track"])
        group = None
        if "group" in data:
            group = selectors.group_get(group_id=data["group"])
        event = feedback_record(
            user=selectors.listener_get(user_id=_user_id(request)),
            track=track,
            kind=data["kind"],
            value=data["value"],
            group=group,
        )
        return Response(self.OutputSerializer(event).data, status=201)
