# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; see recommender/admin/common.py.)
"""A/B experiments in the admin: arms inline, live per-arm outcomes, start / stop / promote.

Every state change goes through ``experiments.services`` (admin actions, the change page's
buttons and the "start now" box alike); their errors come back as messages or form errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from audotics.errors import ApplicationError
from experiments.models import Arm, Experiment
from experiments.selectors import METRICS, PRIMARY, ExperimentReport, experiment_report
from experiments.services import (
    ArmSpec,
    arms_validate,
    experiment_promote,
    experiment_start,
    experiment_stop,
)

Status = Experiment.Status


class ArmInlineFormSet(forms.BaseInlineFormSet):
    """The arms together: 2+, one control, weights adding up to 100, known versions."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        specs = [
            ArmSpec(
                name=form.cleaned_data["name"],
                model_version=form.cleaned_data["model_version"],
                weight=form.cleaned_data["weight"],
                is_control=form.cleaned_data.get("is_control", False),
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        arms_validate(model=self.instance.model, arms=specs)


class ArmInline(admin.TabularInline):
    model = Arm
    formset = ArmInlineFormSet
    fields = ("name", "model_version", "weight", "is_control")
    extra = 0
    min_num = 2

    def _frozen(self, obj: Experiment | None) -> bool:
        return obj is not None and obj.status != Status.DRAFT

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if self._frozen(obj) else ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class ExperimentForm(forms.ModelForm):
    start_now = forms.BooleanField(
        required=False, help_text="start splitting the traffic as soon as this is saved"
    )

    class Meta:
        model = Experiment
        fields = ("name", "model", "description", "salt", "winner")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        model = data.get("model") or self.instance.model
        if data.get("start_now"):
            running = (
                Experiment.objects.filter(model=model, status=Status.RUNNING)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if running is not None:
                raise ValidationError(
                    f"{running.name} already runs on {model}: stop it before starting another"
                )
        return data


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _p_value(value: float) -> str:
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _signed_points(value: float) -> str:
    return f"{100 * value:+.1f} pt"


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = (ArmInline,)
    list_display = ("name", "model", "status", "arms_live", "started_at", "stopped_at")
    list_filter = ("status", "model")
    search_fields = ("name", "description")
    actions = ("start_selected", "stop_selected", "promote_selected")
    change_form_template = "admin/experiments/experiment/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields: list[Any] = ["name", "model", "description", "status", "salt"]
        fields += [("started_at", "stopped_at")]
        if obj is None or obj.status == Status.DRAFT:
            fields.append("start_now")
        else:
            fields.append("winner")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = ["status", "started_at", "stopped_at"]
        if obj is not None and obj.status != Status.DRAFT:
            fixed += ["name", "model", "salt"]
        return fixed

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "winner" in form.base_fields:
            winner = form.base_fields["winner"]
            assert isinstance(winner, forms.ModelChoiceField)
            winner.queryset = obj.arms.all() if obj is not None else Arm.objects.none()
        return form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A running experiment is stopped first (every process must hear of it)."""
        if obj is not None and obj.status == Status.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Experiment]:
        return super().get_queryset(request).prefetch_related("arms")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.cleaned_data.get("start_now"):
            self._run(request, "start", form.instance)

    # ---- the per-arm outcomes -----------------------------------------------------------------

    @admin.display(description="arms (live)")
    def arms_live(self, obj: Experiment) -> SafeString:
        if obj.status == Status.DRAFT:
            rows = [(a.name, f"{a.model_version} · {a.weight}%") for a in obj.arms.all()]
        else:
            report = experiment_report(experiment=obj)
            rows = [(a.arm.name, self._arm_line(report, a.arm)) for a in report.arms]
        return format_html_join(SafeString("<br>"), "<b>{}</b> {}", rows)

    @staticmethod
    def _arm_line(report: ExperimentReport, arm: Arm) -> str:
        outcome = next(a for a in report.arms if a.arm == arm)
        primary = next(m for m in METRICS if m.key == PRIMARY)
        line = (
            f"{arm.model_version} · {arm.weight}% · {outcome.users} users · "
            f"{outcome.reactions} reactions · positive {_percent(outcome.rate(primary))}"
        )
        for comparison in report.comparisons.get(arm.pk, []):
            if comparison.metric.key == PRIMARY:
                test = comparison.test
                p = f", p {_p_value(test.p_value)}" if test and test.enough_data else ""
                line += f" ({comparison.verdict}{p})"
        return line

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        obj = context.get("original")
        if obj is not None and obj.status != Status.DRAFT:
            context["report"] = self._report_context(experiment_report(experiment=obj))
        if obj is not None:
            context["state_buttons"] = self._buttons(obj)
        return super().render_change_form(request, context, *args, **kwargs)

    @staticmethod
    def _report_context(report: ExperimentReport) -> dict[str, Any]:
        arms = [
            {
                "name": a.arm.name,
                "control": a.arm.is_control,
                "version": a.arm.model_version,
                "weight": a.arm.weight,
                "users": a.users,
                "responses": a.responses,
                "reactions": a.reactions,
                "rates": [_percent(a.rate(m)) for m in METRICS],
            }
            for a in report.arms
        ]
        comparisons = []
        for outcome in report.arms:
            for c in report.comparisons.get(outcome.arm.pk, []):
                test = c.test
                comparisons.append(
                    {
                        "arm": outcome.arm.name,
                        "metric": c.metric.label,
                        "difference": _signed_points(test.difference) if test else "-",
                        "ci": (
                            f"{_signed_points(test.ci_low)} to {_signed_points(test.ci_high)}"
                            if test
                            else "-"
                        ),
                        "p_value": _p_value(test.p_value) if test else "-",
                        "verdict": c.verdict,
                        "better": c.better,
                    }
                )
        winner = report.winner()
        return {
            "metrics": [m.label for m in METRICS],
            "arms": arms,
            "comparisons": comparisons,
            "winner": winner.name if winner is not None else None,
        }

    @staticmethod
    def _buttons(obj: Experiment) -> list[tuple[str, str, str]]:
        names = {
            Status.DRAFT: ["start"],
            Status.RUNNING: ["stop", "promote"],
            Status.STOPPED: ["promote"],
        }[Status(obj.status)]
        return [
            (
                reverse(f"admin:experiments_experiment_{name}", args=[obj.pk]),
                OPERATIONS[name][1],
                name,
            )
            for name in names
        ]

    # ---- state changes ------------------------------------------------------------------------

    def _run(self, request: HttpRequest, operation: str, obj: Experiment) -> bool:
        try:
            done = OPERATIONS[operation][0](obj)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return False
        except ValidationError as exc:
            self.message_user(request, f"{obj.name}: {'; '.join(exc.messages)}", messages.ERROR)
            return False
        self.message_user(request, done, messages.SUCCESS)
        return True

    def _each(self, request: HttpRequest, queryset: QuerySet[Experiment], operation: str) -> None:
        for obj in queryset:
            self._run(request, operation, obj)

    @admin.action(description="Start the selected experiments")
    def start_selected(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "start")

    @admin.action(description="Stop the selected experiments")
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "stop")

    @admin.action(description="Promote the winning arm (stops the experiment)")
    def promote_selected(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "promote")

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                f"<path:object_id>/{operation}/",
                self.admin_site.admin_view(self._operation_view(operation)),
                name=f"experiments_experiment_{operation}",
            )
            for operation in OPERATIONS
        ]
        return extra + super().get_urls()

    def _operation_view(self, operation: str) -> Callable[..., HttpResponse]:
        """The change page's buttons: POST only, then back to the page with a message."""

        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            obj = get_object_or_404(Experiment, pk=object_id)
            if not self.has_change_permission(request, obj):
                return HttpResponseForbidden()
            self._run(request, operation, obj)
            return HttpResponseRedirect(
                reverse("admin:experiments_experiment_change", args=[obj.pk])
            )

        return view


def _start(obj: Experiment) -> str:
    experiment_start(experiment=obj)
    return f"{obj.name} is running."


def _stop(obj: Experiment) -> str:
    experiment_stop(experiment=obj)
    return f"{obj.name} is stopped."


def _promote(obj: Experiment) -> str:
    row = experiment_promote(experiment=obj)
    return f"{obj.name} is stopped; {row.name} version {row.version} is active."


#: operation -> (thin call of its service, button label)
OPERATIONS: dict[str, tuple[Callable[[Experiment], str], str]] = {
    "start": (_start, "Start"),
    "stop": (_stop, "Stop"),
    "promote": (_promote, "Promote the winning arm"),
}
