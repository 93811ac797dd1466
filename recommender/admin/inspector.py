"""The recommendation inspector: a curator picks a listener or a room and sees the list that
serving would return now, with each model's part of every score, the confidence and the
explanation (the same service calls as the API, so what is shown is what is served)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audotics.errors import ApplicationError
from groups.models import ListeningGroup
from ml.group.policies import LEARNED, POLICIES
from recommender.models import User

LISTENER_CHOICES = 300


class InspectorForm(forms.Form):
    user = forms.CharField(
        required=False,
        label="Listener",
        help_text="user id or username",
        widget=forms.TextInput(attrs={"list": "inspector-users", "autocomplete": "off"}),
    )
    room = forms.ModelChoiceField(
        queryset=ListeningGroup.objects.order_by("name"),
        required=False,
        label="or a group",
        empty_label="(none)",
    )
    n = forms.IntegerField(min_value=1, max_value=50, initial=10, required=False, label="tracks")
    policy = forms.ChoiceField(
        choices=[(p, p) for p in (LEARNED, *POLICIES)],
        initial=LEARNED,
        required=False,
        label="group policy",
    )

    def clean_user(self) -> User | None:
        text = self.cleaned_data["user"].strip()
        if not text:
            return None
        query = Q(username=text) | (Q(pk=int(text)) if text.isdigit() else Q())
        found = User.objects.filter(query).first()
        if found is None:
            raise ValidationError(f"no listener with id or username {text!r}")
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("room")):
            raise ValidationError("Pick one listener or one group.")
        data["n"] = data.get("n") or 10
        data["policy"] = data.get("policy") or LEARNED
        return data


def _model_columns(results: list[dict[str, Any]]) -> list[str]:
    return sorted({name for row in results for name in row.get("parts", {})})


def recommendation_inspector(request: HttpRequest) -> HttpResponse:
    """``/admin/inspector/``: staff only (wrapped by ``admin.site.admin_view``)."""
    form = InspectorForm(request.GET or None)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Recommendation inspector",
        "form": form,
        "listeners": User.objects.annotate(plays=Count("artistplaycount"))
        .order_by("-plays", "pk")
        .values("pk", "username")[:LISTENER_CHOICES],
    }
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            if data["user"] is not None:
                from recommender.serving.users import user_recommendations

                payload: dict[str, Any] = dict(
                    user_recommendations(user_id=data["user"].pk, n=data["n"])
                )
                context["subject"] = f"listener {data['user'].username} (id {data['user'].pk})"
            else:
                from recommender.serving.groups import group_recommendations

                payload = dict(
                    group_recommendations(
                        group_id=data["room"].pk, n=data["n"], policy=data["policy"]
                    )
                )
                context["subject"] = f"group {data['room'].name} (id {data['room'].pk})"
        except ApplicationError as exc:
            context["error"] = exc.message
        else:
            context["payload"] = payload
            context["models"] = _model_columns(payload["results"])
            context["rows"] = [
                {**row, "part_list": [row.get("parts", {}).get(m) for m in context["models"]]}
                for row in payload["results"]
            ]
    return TemplateResponse(request, "admin/recommender/inspector.html", context)
