# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Curator admin for friendships, listening groups and their members."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from groups.models import (
    Friendship,
    ListeningGroup,
    MemberLedger,
    Membership,
    QueueEntry,
    QueueVote,
    SessionPlaylist,
    SkipVote,
)


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):
    list_display = ("user_low", "user_high", "source", "created_at")
    list_select_related = ("user_low", "user_high")
    list_filter = ("source",)
    search_fields = (
        "user_low__username",
        "user_low__display_name",
        "user_high__username",
        "user_high__display_name",
    )
    autocomplete_fields = ("user_low", "user_high")
    readonly_fields = ("created_at",)
    show_full_result_count = False


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "muted", "joined_at")
    readonly_fields = ("joined_at",)
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(ListeningGroup)
class ListeningGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "code", "owner", "member_count", "max_members", "is_active")
    list_select_related = ("owner",)
    list_filter = ("kind", "is_active")
    search_fields = ("name", "=code", "owner__username", "owner__display_name")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at", "playing")
    fieldsets = (
        (None, {"fields": ("name", "kind", "code", "owner")}),
        ("Limits", {"fields": ("max_members", "is_active", "locked", "add_cap", "veto_budget")}),
        ("Room", {"fields": ("policy", "allow_explicit", "playing", "is_playing", "position_ms")}),
        ("Audit", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ListeningGroup]:
        qs: QuerySet[ListeningGroup] = super().get_queryset(request)
        return qs.annotate(_member_count=Count("memberships"))

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, obj: ListeningGroup) -> int:
        return int(getattr(obj, "_member_count", 0))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("group", "user", "role", "muted", "joined_at", "last_seen")
    list_select_related = ("group", "user")
    list_filter = ("role", "group__kind")
    search_fields = ("group__name", "=group__code", "user__username", "user__display_name")
    autocomplete_fields = ("group", "user")
    readonly_fields = ("joined_at",)


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ("track", "group", "state", "added_by", "score", "created_at", "ended_at")
    list_select_related = ("track__artist", "group", "added_by")
    list_filter = ("state",)
    search_fields = ("track__name", "track__artist__name", "group__name", "=group__code")
    autocomplete_fields = ("group", "added_by", "track")
    readonly_fields = ("created_at", "started_at", "ended_at")
    show_full_result_count = False


@admin.register(QueueVote)
class QueueVoteAdmin(admin.ModelAdmin):
    list_display = ("entry", "user", "value")
    list_select_related = ("entry__track", "user")
    search_fields = ("user__username", "entry__track__name")
    raw_id_fields = ("entry", "user")


@admin.register(SkipVote)
class SkipVoteAdmin(admin.ModelAdmin):
    list_display = ("entry", "user")
    list_select_related = ("entry__track", "user")
    search_fields = ("user__username", "entry__track__name")
    raw_id_fields = ("entry", "user")


@admin.register(MemberLedger)
class MemberLedgerAdmin(admin.ModelAdmin):
    list_display = ("group", "user", "harmony_display", "tracks_heard", "vetoes_used", "banned")
    list_select_related = ("group", "user")
    list_filter = ("banned",)
    search_fields = ("group__name", "=group__code", "user__username", "user__display_name")
    raw_id_fields = ("group", "user")

    @admin.display(description="harmony")
    def harmony_display(self, obj: MemberLedger) -> str:
        return f"{obj.harmony:.0f}"


@admin.register(SessionPlaylist)
class SessionPlaylistAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "user", "created_at")
    list_select_related = ("group", "user")
    search_fields = ("name", "group__name", "user__username")
    raw_id_fields = ("group", "user")
    readonly_fields = ("created_at",)
