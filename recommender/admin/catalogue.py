# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Admin of the catalogue: genres, tags, artists, tracks, playlists, moods."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audotics.errors import ApplicationError
from recommender.admin.common import AUDIT_FIELDS, TRACK_ROW, ReadOnlyAdminMixin, changelist_link
from recommender.models import (
    Artist,
    ArtistPlayCount,
    ArtistTag,
    AudioFeatures,
    Genre,
    Playlist,
    PlaylistTrack,
    Tag,
    Track,
    TrackGenre,
    TrackMood,
    TrackPrediction,
)


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
            changelist_link(Track, f"{obj.tracks.count()} tracks", **f),
            changelist_link(ArtistPlayCount, f"{obj.play_counts.count()} listeners", **f),
            changelist_link(ArtistTag, "all tags", **f),
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
    readonly_fields = (*AUDIT_FIELDS, "predicted_genre", "predicted_mood", "nearest_tracks")
    fieldsets = (
        (None, {"fields": ("name", "artist", "popularity", "duration_ms")}),
        ("Album", {"fields": ("album_name", "album_spotify_id", "release_date", "release_year")}),
        ("Spotify", {"fields": ("spotify_id",)}),
        ("Content model", {"fields": ("predicted_genre", "predicted_mood", "nearest_tracks")}),
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

    @admin.display(description="predicted genre")
    def predicted_genre(self, obj: Track) -> str:
        p = TrackPrediction.objects.filter(track=obj).first()
        if p is None:
            return "not predicted yet (manage.py train content)"
        sub = f" / {p.subgenre}" if p.subgenre else ""
        return f"{p.genre}{sub} ({p.genre_probability:.0%}, model version {p.model_version})"

    @admin.display(description="predicted mood")
    def predicted_mood(self, obj: Track) -> str:
        mood = TrackMood.objects.filter(track=obj, source=TrackMood.Source.MODEL).first()
        if mood is None:
            return "not predicted yet (manage.py train content)"
        return f"{mood.get_mood_display()} ({mood.probability:.0%})"

    @admin.display(description="nearest tracks")
    def nearest_tracks(self, obj: Track) -> SafeString | str:
        from recommender.selectors_content import similar_tracks  # loads the content model

        if obj.pk is None:
            return self.get_empty_value_display()
        try:
            found = similar_tracks(track=obj, n=8)
        except ApplicationError as exc:
            return exc.message
        items = format_html_join(
            "",
            '<li><a href="{}">{} — {}</a> <span class="quiet">({})</span></li>',
            (
                (
                    reverse("admin:recommender_track_change", args=[t.pk]),
                    t.name,
                    t.artist.name,
                    f"similarity {score:.2f}",
                )
                for t, score in found
            ),
        )
        return format_html('<ol class="nearest-tracks">{}</ol>', items)

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


@admin.register(TrackPrediction)
class TrackPredictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The content model's predicted genres: written by ``manage.py train content`` only."""

    list_display = (
        "track",
        "genre",
        "genre_probability",
        "subgenre",
        "subgenre_probability",
        "model_version",
    )
    list_select_related = TRACK_ROW
    list_filter = ("genre", "model_version")
    search_fields = ("track__name", "track__artist__name", "genre", "subgenre")
    ordering = ("track__name",)
    show_full_result_count = False
