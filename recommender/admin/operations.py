# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Admin of operations: the import audit trail and the model versions."""

from __future__ import annotations

import json
from pathlib import PurePath

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from audotics.errors import ApplicationError
from recommender.admin.common import ReadOnlyAdminMixin
from recommender.models import (
    ImportRun,
    ModelVersion,
    RetrainRun,
)
from recommender.selectors_versions import (
    model_version_base,
    model_version_metric_diff,
    model_version_params_diff,
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


NONE = "\u2013"  # an en dash where a version has no such metric
#: Metrics where a smaller value is the better one (everything else: larger is better).
LOWER_IS_BETTER = {"pop_bias", "gini"}


def _diff_table(row: ModelVersion, base: ModelVersion) -> SafeString:
    """Metric by metric, ``row`` against ``base``: values, difference, relative change."""
    lines = []
    for d in model_version_metric_diff(row=row, base=base):
        css = ""
        if d.delta:
            better = (d.delta < 0) if d.metric in LOWER_IS_BETTER else (d.delta > 0)
            css = "better" if better else "worse"
        lines.append(
            (
                d.metric,
                NONE if d.value is None else f"{d.value:.4f}",
                NONE if d.base is None else f"{d.base:.4f}",
                css,
                NONE if d.delta is None else f"{d.delta:+.4f}",
                css,
                NONE if d.relative is None else f"{d.relative:+.1%}",
            )
        )
    body = format_html_join(
        "",
        '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="num {}">{}</td><td class="num {}">{}</td></tr>',
        lines,
    )
    params = model_version_params_diff(row=row, base=base)
    changed = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        [(p.param, json.dumps(p.value), json.dumps(p.base)) for p in params],
    )  # fmt: skip
    same_data = row.data_fingerprint == base.data_fingerprint
    return format_html(
        '<table class="version-diff"><thead><tr><th>metric</th><th class="num">{}</th>'
        '<th class="num">{}</th><th class="num">difference</th><th class="num">change</th>'
        "</tr></thead><tbody>{}</tbody></table>"
        "<p>{}</p>{}",
        f"{row.version} ({row.status})",
        f"{base.version} ({base.status})",
        body,
        "Trained on the same data (same fingerprint)."
        if same_data
        else "Trained on different data: validation splits differ, so recorded metrics are not "
        "directly comparable (the promotion gate refits the active configuration instead).",
        format_html(
            '<table class="version-diff"><thead><tr><th>changed parameter</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            row.version,
            base.version,
            changed,
        )
        if params
        else "Same hyperparameters.",
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The model store's versions: read-only audit rows, plus the pointer flip as an action.

    Rows are written by ``manage.py train`` and the retrain tasks, never by hand; activating an
    older version here is the admin's rollback (the same service as ``manage.py rollback``).
    Each version shows the promotion gate's verdict, its metrics against the active version (or,
    for the active one, against the one before it) and its manifest; two selected versions can be
    compared side by side.
    """

    list_display = (
        "name", "version", "status", "model_type", "metric_summary", "gate_reason", "created_at",
    )  # fmt: skip
    list_filter = ("name", "status", "model_type")
    search_fields = ("name", "=version", "data_fingerprint", "command")
    ordering = ("name", "-created_at")
    actions = ("activate_version", "compare_versions")
    fields = (
        ("name", "version"),
        ("model_type", "status"),
        "status_reason",
        "metrics_diff",
        "gate_checks",
        ("created_at", "activated_at"),
        "data_fingerprint",
        "command",
        "path",
        "manifest_pretty",
    )
    readonly_fields = (
        "name",
        "version",
        "model_type",
        "status",
        "status_reason",
        "metrics_diff",
        "gate_checks",
        "data_fingerprint",
        "command",
        "path",
        "created_at",
        "activated_at",
        "manifest_pretty",
    )

    @admin.display(description="metrics")
    def metric_summary(self, obj: ModelVersion) -> str:
        return ", ".join(
            f"{k} {v:.3f}" for k, v in sorted(obj.metrics.items()) if isinstance(v, int | float)
        )

    @admin.display(description="promotion gate")
    def gate_reason(self, obj: ModelVersion) -> str:
        return obj.status_reason[:120] + ("…" if len(obj.status_reason) > 120 else "")

    @admin.display(description="metrics against")
    def metrics_diff(self, obj: ModelVersion) -> SafeString | str:
        base = model_version_base(row=obj)
        if base is None:
            return format_html(
                '<table class="version-diff">{}</table>',
                format_html_join(
                    "", '<tr><td>{}</td><td class="num">{}</td></tr>',
                    [(k, f"{v:.4f}") for k, v in sorted(obj.metrics.items())
                     if isinstance(v, int | float)],
                ),
            )  # fmt: skip
        return _diff_table(obj, base)

    @admin.display(description="gate checks")
    def gate_checks(self, obj: ModelVersion) -> SafeString | str:
        if not obj.gate:
            return "not gated (recorded before the promotion gate, or activated by hand)"
        return format_html('<pre class="manifest">{}</pre>', json.dumps(obj.gate, indent=2))

    @admin.display(description="manifest")
    def manifest_pretty(self, obj: ModelVersion) -> SafeString:
        return format_html(
            '<pre class="manifest">{}</pre>', json.dumps(obj.manifest, indent=2, sort_keys=True)
        )

    def get_urls(self) -> list[URLPattern]:
        compare = path(
            "compare/",
            self.admin_site.admin_view(self.compare_view),
            name="recommender_modelversion_compare",
        )
        return [compare, *super().get_urls()]

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        """``compare/?a=<id>&b=<id>``: two versions' metrics and changed parameters."""
        try:
            a, b = (ModelVersion.objects.get(pk=int(request.GET[k])) for k in ("a", "b"))
        except (KeyError, ValueError, ModelVersion.DoesNotExist):
            self.message_user(request, "Select two existing versions to compare.", messages.ERROR)
            return redirect("admin:recommender_modelversion_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{a.name} {a.version} against {b.name} {b.version}",
            "opts": self.model._meta,
            "a": a,
            "b": b,
            "table": _diff_table(a, b),
        }
        return TemplateResponse(request, "admin/recommender/modelversion_compare.html", context)

    @admin.action(description="Compare the two selected versions")
    def compare_versions(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> HttpResponse | None:
        chosen = list(queryset.order_by("-created_at", "-version")[:3])
        if len(chosen) != 2:
            self.message_user(request, "Select exactly two versions to compare.", messages.ERROR)
            return None
        url = reverse("admin:recommender_modelversion_compare")
        return redirect(f"{url}?a={chosen[0].pk}&b={chosen[1].pk}")

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

    list_display = (
        "started_at", "name", "trigger", "status", "version", "reason_summary", "finished_at",
    )  # fmt: skip
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

    @admin.display(description="reason")
    def reason_summary(self, obj: RetrainRun) -> str:
        return obj.reason[:120] + ("…" if len(obj.reason) > 120 else "")
