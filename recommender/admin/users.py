# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Admin of listeners and what they do: users, profiles, plays, tags, events, feedback."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from recommender.admin.common import AUDIT_FIELDS, TRACK_ROW
from recommender.models import (
    ArtistPlayCount,
    FeedbackEvent,
    ListenerProfile,
    ListeningEvent,
    User,
    UserTagAssignment,
)


class ListenerProfileInline(admin.StackedInline):
    model = ListenerProfile
    can_delete = False
    autocomplete_fields = ("seed_artists",)
    filter_horizontal = ("seed_genres",)
    readonly_fields = AUDIT_FIELDS


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "source", "is_staff", "date_joined")
    list_select_related = ("profile",)
    list_filter = ("profile__source", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "display_name", "email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("username", "password", "display_name")}),
        *(DjangoUserAdmin.fieldsets or ())[1:],
    )
    inlines = (ListenerProfileInline,)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[type[Any]]:
        # The add form only sets a password; the profile follows on the change page.
        return list(self.inlines) if obj is not None else []

    @admin.display(description="source", ordering="profile__source")
    def source(self, obj: User) -> str:
        profile = getattr(obj, "profile", None)
        return (
            profile.get_source_display() if profile is not None else self.get_empty_value_display()
        )


@admin.register(ListenerProfile)
class ListenerProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "source", "lastfm_user_id", "allow_explicit", "created_at")
    list_select_related = ("user",)
    list_filter = ("source", "allow_explicit")
    search_fields = ("user__username", "user__display_name", "=lastfm_user_id")
    autocomplete_fields = ("user", "seed_artists")
    filter_horizontal = ("seed_genres",)
    readonly_fields = AUDIT_FIELDS


@admin.register(ArtistPlayCount)
class ArtistPlayCountAdmin(admin.ModelAdmin):
    list_display = ("user", "artist", "play_count")
    list_select_related = ("user", "artist")
    search_fields = ("user__username", "artist__name")
    ordering = ("-play_count",)
    autocomplete_fields = ("user", "artist")
    show_full_result_count = False


@admin.register(UserTagAssignment)
class UserTagAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "artist", "tag", "tagged_on")
    list_select_related = ("user", "artist", "tag")
    list_filter = ("tagged_on",)
    search_fields = ("tag__name", "artist__name", "user__username")
    autocomplete_fields = ("user", "artist", "tag")
    show_full_result_count = False


@admin.register(ListeningEvent)
class ListeningEventAdmin(admin.ModelAdmin):
    list_display = ("played_at", "user", "track", "ms_played", "source")
    list_select_related = ("user", *TRACK_ROW)
    list_filter = ("source", "played_at")
    search_fields = ("user__username", "track__name", "track__artist__name")
    autocomplete_fields = ("user", "track")
    ordering = ("-played_at",)
    show_full_result_count = False


@admin.register(FeedbackEvent)
class FeedbackEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "value", "track", "group")
    list_select_related = ("user", "group", *TRACK_ROW)
    list_filter = ("kind", "created_at")
    search_fields = ("user__username", "track__name", "group__name")
    autocomplete_fields = ("user", "track", "group")
    readonly_fields = ("created_at",)
    ordering = ("-created_at",)
    show_full_result_count = False


# --- Model versions ----------------------------------------------------------------------------
