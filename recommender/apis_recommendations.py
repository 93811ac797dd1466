"""REST endpoints of the serving path: user and group recommendations, compatibility, ping.

The recommendation payloads are built by ``recommender.serving`` as plain dicts (TypedDicts)
and returned as they are: the output serializers below document them in the OpenAPI schema,
and re-serialising ten nested items per request would cost more than computing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audotics.errors import PermissionDenied
from experiments.services import exposure_record
from experiments.serving import ARM_HEADER
from groups.models import ListeningGroup
from groups.services.compatibility import compatibility_score
from ml.group.policies import LEARNED, POLICIES
from recommender import selectors
from recommender.apis import QueryParams
from recommender.models import User
from recommender.serving.groups import group_recommendations
from recommender.serving.users import render, user_recommendations_served

MAX_N = 50
DEFAULT_N = 10


def _user_id(request: Request) -> int:
    pk = request.user.pk
    assert isinstance(pk, int), "IsAuthenticated lets only signed-in users through"
    return pk


class PingApi(APIView):
    """A no-op behind the same authentication and throttling (the latency floor)."""

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "Ping"

        ok = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class _TrackCardSerializer(serializers.Serializer[dict[str, Any]]):
    class Meta:
        ref_name = "TrackCard"

    spotify_id = serializers.CharField()
    name = serializers.CharField()
    artist = serializers.CharField()
    album = serializers.CharField()
    release_year = serializers.IntegerField(allow_null=True)
    popularity = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)


class _RecommendedTrackSerializer(serializers.Serializer[dict[str, Any]]):
    class Meta:
        ref_name = "RecommendedTrack"

    track = _TrackCardSerializer()
    score = serializers.FloatField()
    confidence = serializers.FloatField(allow_null=True, help_text="calibrated P(hit)")
    parts = serializers.DictField(child=serializers.FloatField(), help_text="per member")
    models = serializers.DictField(
        child=serializers.FloatField(), help_text="user, content and group shares"
    )
    because = serializers.CharField(allow_null=True, help_text="an artist you play")
    explanation = serializers.CharField()
    fallback = serializers.BooleanField(help_text="popular tracks: confidence was too low")
    curation = serializers.CharField(allow_null=True, help_text="pinned, boosted, buried")


class _ExperimentArmSerializer(serializers.Serializer[dict[str, Any]]):
    class Meta:
        ref_name = "ExperimentArm"

    name = serializers.CharField(help_text="the running A/B experiment")
    arm = serializers.CharField(help_text="your arm of it (also in the X-Audotics-Arm header)")
    version = serializers.CharField(help_text="the hybrid version that arm serves")


def _plain_n(request: Request) -> int | None:
    """``n`` of the common query (none, or one ``n`` from 1 to 50) without a serializer.

    The hot path of the most requested endpoint; every other query, valid or not, is left to
    the input serializer (which answers the field errors).
    """
    query = request.query_params
    if not query:
        return DEFAULT_N
    values = query.getlist("n")
    raw = values[0] if len(values) == 1 else ""
    if len(query) != 1 or not (raw.isascii() and raw.isdigit()) or len(raw) > 2:
        return None
    n = int(raw)
    return n if 1 <= n <= MAX_N else None


def _json(payload: Mapping[str, Any]) -> HttpResponse:
    """A plain payload (str, int, float, bool, None, lists, dicts) as DRF's JSON renderer would
    write it (compact, UTF-8), without its per-request renderer machinery."""
    return HttpResponse(render(payload), content_type="application/json")


class UserRecommendationsApi(APIView):
    """The signed-in listener's tracks: score, each model's part, confidence, why, fallback."""

    class InputSerializer(QueryParams):
        class Meta:
            ref_name = "UserRecommendationsQuery"

        n = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_N)

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "UserRecommendations"

        results = serializers.ListField(child=_RecommendedTrackSerializer())
        fallback = serializers.BooleanField()
        model_versions = serializers.DictField(child=serializers.CharField())
        experiment = _ExperimentArmSerializer(
            allow_null=True, help_text="the A/B arm that served this list; null when none runs"
        )
        generation = serializers.IntegerField(help_text="bumped by your feedback")
        cached = serializers.BooleanField()
        generated_at = serializers.DateTimeField()

        def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
            fields = super().get_fields()
            # "context" is a Serializer attribute, so the field is added here.
            fields["context"] = serializers.DictField(
                help_text="history length, buckets, daypart and the blend weights used"
            )
            return fields

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> HttpResponse:
        n = _plain_n(request)
        if n is None:  # anything but a plain ``?n=<1..50>`` goes through the serializer
            params = self.InputSerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            n = params.validated_data["n"]
        user_id = _user_id(request)
        served = user_recommendations_served(
            user_id=user_id, n=n, recs_generation=getattr(request.user, "recs_generation", None)
        )
        exposure_record(choice=served.arm, user_id=user_id)  # in memory but the first time
        if served.rendered is not None:  # a cache hit: the stored JSON, not serialised again
            response = HttpResponse(served.rendered, content_type="application/json")
        else:
            assert served.payload is not None
            response = _json(served.payload)
        if served.arm is not None:
            response[ARM_HEADER] = served.arm.header
        return response


class GroupRecommendationsApi(APIView):
    """Tracks for a group you belong to, under its aggregation policy, with member attribution."""

    class InputSerializer(QueryParams):
        class Meta:
            ref_name = "GroupRecommendationsQuery"

        group = serializers.IntegerField(min_value=1)
        n = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_N)
        policy = serializers.ChoiceField(
            choices=[LEARNED, *POLICIES], required=False, default=LEARNED
        )

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "GroupRecommendations"

        group = serializers.IntegerField()
        policy = serializers.CharField()
        results = serializers.ListField(child=serializers.DictField())
        satisfaction = serializers.DictField(child=serializers.FloatField())
        model_versions = serializers.DictField(child=serializers.CharField())
        cached = serializers.BooleanField()
        generated_at = serializers.DateTimeField()

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> HttpResponse:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        payload = group_recommendations(
            group_id=data["group"], user_id=_user_id(request), n=data["n"], policy=data["policy"]
        )
        return _json(payload)


def _member_group(request: Request, group_id: int) -> ListeningGroup:
    group = selectors.group_get(group_id=group_id)
    if not group.memberships.filter(user_id=_user_id(request)).exists():
        raise PermissionDenied("only members can see this group's recommendations")
    return group


class CompatibilityScoreApi(APIView):
    """How well you fit another listener (by username) or a group you belong to, 0-100."""

    class InputSerializer(QueryParams):
        class Meta:
            ref_name = "CompatibilityQuery"

        other = serializers.CharField(required=False, max_length=150, help_text="a username")
        group = serializers.IntegerField(required=False, min_value=1)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("other" in attrs) == ("group" in attrs):
                raise serializers.ValidationError({"other": ["give exactly one of other or group"]})
            return attrs

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "Compatibility"

        score = serializers.IntegerField()
        reasons = serializers.ListField(child=serializers.CharField())
        shared_artists = serializers.ListField(child=serializers.CharField())
        shared_tags = serializers.ListField(child=serializers.CharField())
        shared_moods = serializers.ListField(child=serializers.CharField())
        disagreement = serializers.CharField(allow_null=True)
        similarities = serializers.DictField(child=serializers.FloatField())
        model_version = serializers.CharField(allow_null=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = selectors.listener_get(user_id=_user_id(request))
        if "group" in data:
            payload = compatibility_score(user=user, group=_member_group(request, data["group"]))
        else:
            other = User.objects.filter(username=data["other"]).first()
            if other is None:
                raise serializers.ValidationError({"other": [f"no listener {data['other']!r}"]})
            payload = compatibility_score(user=user, other=other)
        return Response(payload)
