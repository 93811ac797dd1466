# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Curator admin for the catalogue, listeners and what they do.

Every changelist must stay fast on the full demo data (29k tracks, 27k artists, 152k tag
assignments): foreign keys are joined with ``list_select_related`` (``Track.__str__`` reads its
artist, so ``track__artist`` too), big tables skip the full result count, and per-row figures are
correlated subqueries that only run for the rows on the page.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from audotics.errors import ApplicationError
from recommender.models import (
    Artist,
    ArtistPlayCount,
    ArtistTag,
    AudioFeatures,
    FeedbackEvent,
    Genre,
    ImportRun,
    ListenerProfile,
    ListeningEvent,
    ModelVersion,
    Playlist,
    PlaylistTrack,
    Tag,
    Track,
    TrackGenre,
    TrackMood,
    User,
    UserTagAssignment,
)
from recommender.services.model_versions import model_version_activate

admin.site.site_header = "Audotics curation"
admin.site.site_title = "Audotics admin"
admin.site.index_title = "Catalogue, listeners and listening groups"
# The changelists are wide (tracks, import runs); the breadcrumbs and index page suffice.
admin.site.enable_nav_sidebar = False

AUDIT_FIELDS = ("created_at", "updated_at")
TRACK_ROW = ("track__artist",)


def _changelist_link(model: type[Any], label: str, **filters: object) -> SafeString:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


# --- Catalogue ---------------------------------------------------------------------------------


class SubgenreInline(admin.TabularInline):
    model = Genre
    fk_name = "parent"
    fields = ("name",)
    extra = 0
    verbose_name = "sub-genre"


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "track_count", "updated_at")
    list_select_related = ("parent",)
    list_filter = (("parent", admin.EmptyFieldListFilter),)
    search_fields = ("name",)
    readonly_fields = AUDIT_FIELDS
    inlines = (SubgenreInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Genre]:
        # A correlated count on the (genre, track) index beats grouping all 63k links.
        links = TrackGenre.objects.filter(genre=OuterRef("pk")).values("genre")
        qs: QuerySet[Genre] = super().get_queryset(request)
        return qs.annotate(_track_count=Subquery(links.annotate(n=Count("id")).values("n")))

    @admin.display(description="tracks", ordering="_track_count")
    def track_count(self, obj: Genre) -> int:
        return int(getattr(obj, "_track_count", None) or 0)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "lastfm_id", "artist_count", "uses")
    search_fields = ("name", "=lastfm_id")
    readonly_fields = AUDIT_FIELDS
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        # Correlated subqueries on the (tag, -count) index run only for the page's rows.
        per_tag = ArtistTag.objects.filter(tag=OuterRef("pk")).values("tag")
        qs: QuerySet[Tag] = super().get_queryset(request)
        return qs.annotate(
            _uses=Subquery(per_tag.annotate(s=Sum("count")).values("s")),
            _artists=Subquery(per_tag.annotate(n=Count("id")).values("n")),
        )

    @admin.display(description="artists", ordering="_artists")
    def artist_count(self, obj: Tag) -> int:
        return int(getattr(obj, "_artists", None) or 0)

    @admin.display(description="times given", ordering="_uses")
    def uses(self, obj: Tag) -> int:
        return int(getattr(obj, "_uses", None) or 0)


class TopArtistTagFormSet(BaseInlineFormSet):
    """Only the most-given tags: a popular artist carries hundreds."""

    limit = 20

    def get_queryset(self) -> QuerySet[ArtistTag]:
        if not hasattr(self, "_top"):
            self._top = super().get_queryset().order_by("-count", "tag__name")[: self.limit]
        return self._top


class ArtistTagInline(admin.TabularInline):
    model = ArtistTag
    formset = TopArtistTagFormSet
    fields = ("tag", "count")
    readonly_fields = ("tag", "count")
    extra = 0
    can_delete = False
    verbose_name_plural = f"top {TopArtistTagFormSet.limit} tags (derived from tag assignments)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArtistTag]:
        qs: QuerySet[ArtistTag] = super().get_queryset(request)
        return qs.select_related("tag", "artist")  # the row label reads both

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ArtistSourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("linked", "Last.fm and catalogue"),
            ("lastfm", "Last.fm only"),
            ("catalogue", "Catalogue only"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        on_lastfm = {"lastfm_id__isnull": False}
        if self.value() == "linked":
            return queryset.filter(_in_catalogue=True, **on_lastfm)
        if self.value() == "lastfm":
            return queryset.filter(_in_catalogue=False, **on_lastfm)
        if self.value() == "catalogue":
            return queryset.filter(lastfm_id__isnull=True)
        return queryset


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ("name", "lastfm_id", "in_catalogue", "lastfm_page")
    list_filter = (ArtistSourceFilter,)
    search_fields = ("name", "name_key", "=lastfm_id")
    readonly_fields = ("catalogue_links", *AUDIT_FIELDS)
    fieldsets = (
        (None, {"fields": ("name", "name_key", "catalogue_links")}),
        ("Last.fm", {"fields": ("lastfm_id", "lastfm_url", "picture_url")}),
        ("Audit", {"fields": AUDIT_FIELDS, "classes": ("collapse",)}),
    )
    inlines = (ArtistTagInline,)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artist]:
        has_tracks = Exists(Track.objects.filter(artist=OuterRef("pk")))
        qs: QuerySet[Artist] = super().get_queryset(request)
        return qs.annotate(_in_catalogue=has_tracks)

    @admin.display(description="in catalogue", boolean=True, ordering="_in_catalogue")
    def in_catalogue(self, obj: Artist) -> bool:
        return bool(getattr(obj, "_in_catalogue", False))

    @admin.display(description="Last.fm page")
    def lastfm_page(self, obj: Artist) -> SafeString | str:
        if not obj.lastfm_url:
            return self.get_empty_value_display()
        return format_html(
            '<a href="{}" rel="noopener" target="_blank">last.fm ↗</a>', obj.lastfm_url
        )

    @admin.display(description="related rows")
    def catalogue_links(self, obj: Artist) -> SafeString:
        if obj.pk is None:
            return self.get_empty_value_display()
        f = {"artist__id__exact": obj.pk}
        return format_html(
            "{} · {} · {}",
            _changelist_link(Track, f"{obj.tracks.count()} tracks", **f),
            _changelist_link(ArtistPlayCount, f"{obj.play_counts.count()} listeners", **f),
            _changelist_link(ArtistTag, "all tags", **f),
        )


class AudioFeaturesInline(admin.StackedInline):
    model = AudioFeatures
    can_delete = False
    fields = (
        ("danceability", "energy", "valence"),
        ("speechiness", "acousticness", "instrumentalness", "liveness"),
        ("key", "mode", "loudness", "tempo", "time_signature"),
    )


class TrackGenreInline(admin.TabularInline):
    model = TrackGenre
    autocomplete_fields = ("genre",)
    extra = 0


class TrackMoodInline(admin.TabularInline):
    model = TrackMood
    fields = ("mood", "source", "probability")
    extra = 0


class DecadeFilter(admin.SimpleListFilter):
    title = "release decade"
    parameter_name = "decade"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(d), f"{d}s") for d in range(2020, 1950, -10)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        start = int(value)
        return queryset.filter(release_year__gte=start, release_year__lt=start + 10)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "artist", "genre_names", "release_year", "popularity", "duration")
    list_select_related = ("artist",)
    list_filter = ("genres", DecadeFilter, "moods__mood")
    search_fields = ("name", "artist__name", "album_name", "=spotify_id")
    ordering = ("-popularity", "name")
    autocomplete_fields = ("artist",)
    readonly_fields = AUDIT_FIELDS
    fieldsets = (
        (None, {"fields": ("name", "artist", "popularity", "duration_ms")}),
        ("Album", {"fields": ("album_name", "album_spotify_id", "release_date", "release_year")}),
        ("Spotify", {"fields": ("spotify_id",)}),
        ("Audit", {"fields": AUDIT_FIELDS, "classes": ("collapse",)}),
    )
    inlines = (AudioFeaturesInline, TrackGenreInline, TrackMoodInline)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Track]:
        # Prefetching runs once for the page's rows, not per row.
        qs: QuerySet[Track] = super().get_queryset(request)
        return qs.prefetch_related("genres")

    @admin.display(description="genres")
    def genre_names(self, obj: Track) -> str:
        # Top-level only: each sub-genre repeats its parent, and the change page lists both.
        names = sorted(g.name for g in obj.genres.all() if g.parent_id is None)
        return ", ".join(names) or self.get_empty_value_display()

    @admin.display(description="length", ordering="duration_ms")
    def duration(self, obj: Track) -> str:
        if obj.duration_ms is None:
            return self.get_empty_value_display()
        minutes, seconds = divmod(round(obj.duration_ms / 1000), 60)
        return f"{minutes}:{seconds:02d}"


@admin.register(AudioFeatures)
class AudioFeaturesAdmin(admin.ModelAdmin):
    list_display = ("track", "danceability", "energy", "valence", "tempo", "key", "mode")
    list_select_related = TRACK_ROW
    list_filter = ("mode", "time_signature")
    search_fields = ("track__name", "track__artist__name", "=track__spotify_id")
    raw_id_fields = ("track",)
    show_full_result_count = False


@admin.register(TrackGenre)
class TrackGenreAdmin(admin.ModelAdmin):
    list_display = ("track", "genre")
    list_select_related = (*TRACK_ROW, "genre")
    list_filter = ("genre",)
    search_fields = ("track__name", "track__artist__name")
    autocomplete_fields = ("track", "genre")
    show_full_result_count = False


@admin.register(ArtistTag)
class ArtistTagAdmin(admin.ModelAdmin):
    list_display = ("artist", "tag", "count")
    list_select_related = ("artist", "tag")
    search_fields = ("artist__name", "tag__name")
    ordering = ("-count",)
    autocomplete_fields = ("artist", "tag")
    show_full_result_count = False


class PlaylistTrackInline(admin.TabularInline):
    """Listed read-only: editing a link row by row is done in the playlist-track admin."""

    model = PlaylistTrack
    fields = ("track",)
    readonly_fields = ("track",)
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlaylistTrack]:
        qs: QuerySet[PlaylistTrack] = super().get_queryset(request)
        return qs.select_related(*TRACK_ROW)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Playlist)
class PlaylistAdmin(admin.ModelAdmin):
    list_display = ("name", "spotify_id", "track_count", "updated_at")
    search_fields = ("name", "=spotify_id")
    readonly_fields = AUDIT_FIELDS
    inlines = (PlaylistTrackInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Playlist]:
        qs: QuerySet[Playlist] = super().get_queryset(request)
        return qs.annotate(_track_count=Count("playlisttrack"))

    @admin.display(description="tracks", ordering="_track_count")
    def track_count(self, obj: Playlist) -> int:
        return int(getattr(obj, "_track_count", 0))


@admin.register(PlaylistTrack)
class PlaylistTrackAdmin(admin.ModelAdmin):
    list_display = ("playlist", "track")
    list_select_related = ("playlist", *TRACK_ROW)
    search_fields = ("playlist__name", "track__name", "track__artist__name")
    autocomplete_fields = ("playlist", "track")
    show_full_result_count = False


@admin.register(TrackMood)
class TrackMoodAdmin(admin.ModelAdmin):
    list_display = ("track", "mood", "source", "probability", "updated_at")
    list_select_related = TRACK_ROW
    list_filter = ("mood", "source")
    search_fields = ("track__name", "track__artist__name")
    autocomplete_fields = ("track",)
    readonly_fields = AUDIT_FIELDS


# --- Imports -----------------------------------------------------------------------------------


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """An audit trail: nobody adds, edits or deletes a run by hand."""

    list_display = ("started_at", "kind", "status", "summary", "duration", "source_name")
    list_filter = ("kind", "status")
    search_fields = ("source", "message")
    date_hierarchy = "started_at"
    fields = (
        ("kind", "status"),
        "source",
        ("started_at", "finished_at"),
        "counts_table",
        "message",
        "skipped_rows",
    )
    readonly_fields = (
        "kind",
        "status",
        "source",
        "started_at",
        "finished_at",
        "counts_table",
        "message",
        "skipped_rows",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="counts")
    def summary(self, obj: ImportRun) -> SafeString:
        return format_html_join(mark_safe("<br>"), "{}&nbsp;{}", self._count_rows(obj))

    @admin.display(description="source", ordering="source")
    def source_name(self, obj: ImportRun) -> SafeString:
        return format_html('<span title="{}">{}</span>', obj.source, PurePath(obj.source).name)

    @admin.display(description="took", ordering="finished_at")
    def duration(self, obj: ImportRun) -> str:
        return f"{(obj.finished_at - obj.started_at).total_seconds():.1f} s"

    @admin.display(description="counts")
    def counts_table(self, obj: ImportRun) -> SafeString:
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", self._count_rows(obj))
        return format_html('<table class="import-counts">{}</table>', rows)

    @staticmethod
    def _count_rows(obj: ImportRun) -> list[tuple[str, str]]:
        # format_html escapes its arguments to strings first, so numbers are formatted here.
        return [(str(key), f"{value:,}") for key, value in obj.counts.items()]

    @admin.display(description=f"skipped rows ({ImportRun._meta.get_field('skipped').help_text})")
    def skipped_rows(self, obj: ImportRun) -> SafeString:
        lines = "\n".join(str(line) for line in obj.skipped) or "none"
        return format_html("<pre>{}</pre>", lines)


# --- Listeners and what they do ----------------------------------------------------------------


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


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """The model store's versions: read-only audit rows, plus the pointer flip as an action.

    Rows are written by ``manage.py train`` and the retrain tasks, never by hand; activating an
    older version here is the admin's rollback (the same service as ``manage.py rollback``).
    """

    list_display = ("name", "version", "status", "model_type", "metric_summary", "created_at")
    list_filter = ("name", "status", "model_type")
    search_fields = ("name", "=version", "data_fingerprint", "command")
    ordering = ("name", "-created_at")
    actions = ("activate_version",)
    readonly_fields = (
        "name",
        "version",
        "model_type",
        "status",
        "metrics",
        "data_fingerprint",
        "command",
        "path",
        "created_at",
        "activated_at",
        "manifest",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="metrics")
    def metric_summary(self, obj: ModelVersion) -> str:
        return ", ".join(
            f"{k} {v:.3f}" for k, v in sorted(obj.metrics.items()) if isinstance(v, int | float)
        )

    @admin.action(description="Activate the selected version (rollback is activating an older one)")
    def activate_version(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        try:
            row = model_version_activate(name=chosen[0].name, version=chosen[0].version)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{row.name}: version {row.version} is active.")
