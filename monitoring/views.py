"""The staff dashboard (HTML with inline SVG charts) and the same data as JSON for scrapers."""

from __future__ import annotations

import hmac
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import conf
from monitoring.presenters import dashboard_context
from monitoring.services.dashboard import (
    DEFAULT_DAYS,
    DEFAULT_HOURS,
    MAX_DAYS,
    MAX_HOURS,
    dashboard_collect,
)
from recommender.apis import QueryParams

DAY_CHOICES = (7, 14, 30, 90)
HOUR_CHOICES = (1, 6, 24, 72, 168)


class DashboardQuery(QueryParams):
    class Meta:
        ref_name = "MonitoringQuery"

    days = serializers.IntegerField(
        required=False, default=DEFAULT_DAYS, min_value=1, max_value=MAX_DAYS,
        help_text="UTC days of business metrics, ending today",
    )  # fmt: skip
    hours = serializers.IntegerField(
        required=False, default=DEFAULT_HOURS, min_value=1, max_value=MAX_HOURS,
        help_text="hours of request latency, ending now",
    )  # fmt: skip


class StaffOrMetricsToken(BasePermission):
    """A signed-in staff member, or ``Authorization: Bearer <AUDOTICS_METRICS_TOKEN>``."""

    message = "Sign in as staff, or send the metrics token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is not None and user.is_authenticated and user.is_staff:
            return True
        token = conf.metrics_token()
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return (
            bool(token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        )


class MetricsJsonApi(APIView):
    """Everything on the dashboard as JSON: latency, updates, models, business, bias."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [StaffOrMetricsToken]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[Any] = []

    @extend_schema(parameters=[DashboardQuery], responses=OpenApiResponse(description="metrics"))
    def get(self, request: Request) -> Response:
        params = DashboardQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(dashboard_collect(**params.validated_data))


@require_GET
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    params = DashboardQuery(data=request.GET)
    context: dict[str, Any] = {"day_choices": DAY_CHOICES, "hour_choices": HOUR_CHOICES}
    if not params.is_valid():
        context.update(errors=params.errors, days=DEFAULT_DAYS, hours=DEFAULT_HOURS)
        return render(request, "monitoring/dashboard.html", context, status=400)
    payload = dashboard_collect(**params.validated_data)
    context.update(dashboard_context(payload), days=payload["days"], hours=payload["hours"])
    return render(request, "monitoring/dashboard.html", context)
