# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Admin of operations: the import audit trail and the model versions."""

from __future__ import annotations

from pathlib import PurePath

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from audotics.errors import ApplicationError
from recommender.admin.common import ReadOnlyAdminMixin
from recommender.models import (
    ImportRun,
    ModelVersion,
    RetrainRun,
)
from recommender.services.model_versions import model_version_activate


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(RetrainRun)
class RetrainRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Scheduled and foreground retrains, with why a run failed (read-only)."""

    list_display = ("started_at", "name", "trigger", "status", "version", "finished_at")
    list_filter = ("name", "status", "trigger")
    search_fields = ("name", "reason", "version")
    date_hierarchy = "started_at"
    fields = (
        ("name", "trigger"),
        ("status", "version"),
        ("started_at", "finished_at"),
        "reason",
    )
    readonly_fields = (
        "name",
        "trigger",
        "status",
        "version",
        "started_at",
        "finished_at",
        "reason",
    )
