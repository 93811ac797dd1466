# mypy: allow-any-generics
"""Admin of the serving path: curation rules and the online blend weights (reset, rollback)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audotics.errors import ApplicationError
from recommender.admin.common import ReadOnlyAdminMixin
from recommender.models import BanditSnapshot, BanditState, CurationRule
from recommender.serving.bandit import bandit_reset, bandit_restore, bandit_snapshot_create


class LiveFilter(admin.SimpleListFilter):
    """Rules that apply now, rules waiting for their start, rules past their end."""

    title = "when"
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live now"), ("scheduled", "Scheduled"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        started = Q(starts_at__isnull=True) | Q(starts_at__lte=now)
        running = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        if self.value() == "live":
            return queryset.filter(started & running)
        if self.value() == "scheduled":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("global", "Everywhere"), ("room", "One room")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("global", "room"):
            return queryset.filter(group__isnull=self.value() == "global")
        return queryset


@admin.register(CurationRule)
class CurationRuleAdmin(admin.ModelAdmin):
    """Pin, boost, bury or block a track, artist or genre, everywhere or in one room."""

    list_display = ("__str__", "action", "amount", "group", "starts_at", "ends_at", "created_by")
    list_filter = ("action", LiveFilter, ScopeFilter)
    search_fields = ("track__name", "artist__name", "genre__name", "note")
    autocomplete_fields = ("track", "artist", "genre", "group")
    readonly_fields = ("created_by", "created_at")

    def save_model(
        self, request: HttpRequest, obj: CurationRule, form: object, change: bool
    ) -> None:
        if obj.created_by_id is None and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(BanditState)
class BanditStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The live online weights per hybrid version; snapshot or reset them."""

    list_display = ("model_version", "updates", "updated_at")
    readonly_fields = ("model_version", "updates", "updated_at", "state")
    actions = ("snapshot", "reset")

    @admin.action(description="Save a snapshot of the selected weights")
    def snapshot(self, request: HttpRequest, queryset: QuerySet[BanditState]) -> None:
        for row in queryset:
            bandit_snapshot_create(version=row.model_version, reason=f"admin {request.user}")
        self.message_user(request, f"{queryset.count()} snapshot(s) saved")

    @admin.action(description="Reset to the offline weights (a snapshot is kept)")
    def reset(self, request: HttpRequest, queryset: QuerySet[BanditState]) -> None:
        versions = list(queryset.values_list("model_version", flat=True))
        for version in versions:
            bandit_reset(version=version)
        self.message_user(request, f"reset the online weights of {len(versions)} version(s)")


@admin.register(BanditSnapshot)
class BanditSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "model_version", "reason", "created_at")
    readonly_fields = ("model_version", "reason", "created_at", "state")
    actions = ("restore",)

    @admin.action(description="Roll the online weights back to this snapshot")
    def restore(self, request: HttpRequest, queryset: QuerySet[BanditSnapshot]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "choose exactly one snapshot", level=messages.ERROR)
            return
        try:
            bandit_restore(snapshot_id=queryset.get().pk)
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, "online weights restored")
