# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Curator admin for friendships, listening groups and their members."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from groups.models import Friendship, ListeningGroup, Membership


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
    fields = ("user", "role", "joined_at")
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
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "code", "owner")}),
        ("Limits", {"fields": ("max_members", "is_active")}),
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
    list_display = ("group", "user", "role", "joined_at")
    list_select_related = ("group", "user")
    list_filter = ("role", "group__kind")
    search_fields = ("group__name", "=group__code", "user__username", "user__display_name")
    autocomplete_fields = ("group", "user")
    readonly_fields = ("joined_at",)
