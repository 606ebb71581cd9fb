"""Admin for chaos drills: experiments, runs (phase timeline, probes, report), faults (expiry countdown),
chaos policies, and the halt-all button on every chaos page (and on the ops console)."""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from chaos import queries, services
from chaos.models import ChaosPolicy, Experiment, Fault, Run, RunStatus
from governance.admin_tools import AuditedAdmin, ReadOnlyHistoryAdmin, ReasonForm, confirm_with_reason
from governance.formatting import duration

HALT_PERMISSION = "chaos.halt_chaos"


class ChaosPages:
    """The halt-all button (object tools) on every chaos list and form."""

    change_list_template = "admin/chaos/change_list.html"
    change_form_template = "admin/chaos/change_form.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {**(extra_context or {}), **halt_context(request)}
        return super().changelist_view(request, extra)  # type: ignore[misc]  # mixed into a ModelAdmin

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> Any:
        extra = {**(extra_context or {}), **halt_context(request)}
        return super().changeform_view(request, object_id, form_url, extra)  # type: ignore[misc]  # a mixin


def halt_context(request: HttpRequest) -> dict[str, Any]:
    try:
        active = queries.active_faults().count()
    except (OperationalError, InterfaceError):
        active = None
    return {"can_halt_chaos": request.user.has_perm(HALT_PERMISSION), "active_fault_count": active,
            "halt_url": reverse("admin:chaos_halt")}


def _countdown(fault: Fault) -> str:
    left = (fault.expires_at - timezone.now()).total_seconds()
    return "expired" if left <= 0 else f"in {duration(left)}"


@admin.register(ChaosPolicy)
class ChaosPolicyAdmin(ChaosPages, AuditedAdmin):
    list_display = ["environment", "allow_chaos"]
    fields = ["environment", "allow_chaos"]
    reason_field_help = "Why allow or refuse chaos drills here? Recorded in the audit trail."

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        policy = services.set_policy(environment=form.cleaned_data["environment"],
                                     allow_chaos=form.cleaned_data["allow_chaos"], actor=request.user, reason=reason)
        obj.pk = policy.pk


@admin.register(Experiment)
class ExperimentAdmin(ChaosPages, AuditedAdmin):
    list_display = ["key", "service", "title", "version", "builtin", "schedule_cron", "drillable", "last_run"]
    list_filter = ["service", "builtin"]
    search_fields = ["key", "title"]
    list_select_related = ["service"]
    fields = ["service", "key", "definition", "schedule_cron", "title", "version", "builtin"]
    readonly_fields = ["title", "version", "builtin"]
    actions = ["run_in_preview"]
    reason_field_help = "Why this experiment or change? Recorded in the audit trail (each change is a new version)."

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.readonly_fields, "service", "key"] if obj else self.readonly_fields

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        data = form.cleaned_data
        experiment = services.save_experiment(
            service=obj.service if change else data["service"], key=obj.key if change else data["key"],
            definition=data["definition"], schedule_cron=data.get("schedule_cron", ""), actor=request.user,
            reason=reason)
        obj.pk = experiment.pk

    @admin.display(description="drillable")
    def drillable(self, experiment: Experiment) -> str:
        return str(queries.drillable(service=experiment.service)["label"])

    @admin.display(description="last run")
    def last_run(self, experiment: Experiment) -> str:
        run = experiment.runs.order_by("-created_at").first()
        if run is None:
            return "never"
        return format_html('<a href="{}">#{} {}</a>', reverse("admin:chaos_run_change", args=[run.pk]), run.pk,
                           run.status)

    def has_run_drill_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chaos.add_run")

    @admin.action(description="Run in preview now", permissions=["run_drill"])
    def run_in_preview(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        from governance.models import Environment

        preview = Environment.objects.filter(slug="preview").first()

        def apply(experiment: Experiment, reason: str) -> str:
            if preview is None:
                raise ValidationError("There is no preview environment.")
            run = services.request_run(experiment=experiment, environment=preview, actor=request.user,
                                       reason=f"admin: {reason}")
            return format_html('Run <a href="{}">#{}</a> of {} queued.',
                               reverse("admin:chaos_run_change", args=[run.pk]), run.pk, experiment.key)

        return confirm_with_reason(self, request, queryset, title="Run chaos drill in preview", action="run_in_preview",
                                   apply=apply, warning="Injects the experiment's faults into preview (each with its "
                                   "TTL); the drill aborts itself when a probe deviates or the page burn rate fires.")


@admin.register(Run)
class RunAdmin(ChaosPages, ReadOnlyHistoryAdmin):
    list_display = ["id", "experiment", "environment", "status_badge", "verdict", "requested_by", "created_at", "took"]
    list_filter = ["status", "environment", "service"]
    list_select_related = ["experiment", "environment", "requested_by", "service"]
    search_fields = ["=id", "reason", "experiment__key"]
    date_hierarchy = "created_at"
    fields = ("experiment", "experiment_version", "service", "environment", "status_badge", "verdict",
              "requested_by", "approved_by", "approved_at", "reason", "created_at", "started_at", "ended_at",
              "timeline", "probe_table", "fault_table", "report")
    readonly_fields = fields
    actions = ["approve"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: Run) -> str:
        css = {"completed": "success", "running": "pending", "pending": "pending"}.get(run.status, "failure")
        return format_html('<span class="verdict verdict-{}">{}</span>', css, run.status)

    @admin.display(description="took")
    def took(self, run: Run) -> str:
        if not (run.started_at and run.ended_at):
            return "—"
        return duration((run.ended_at - run.started_at).total_seconds())

    @admin.display(description="phase timeline")
    def timeline(self, run: Run) -> str:
        if not run.phases:
            return "—"
        rows = [(p.get("name"), p.get("status"), p.get("started_at") or "—", p.get("ended_at") or "—",
                 p.get("detail") or "") for p in run.phases]
        return format_html("<table><tr><th>phase</th><th>status</th><th>started</th><th>ended</th><th>detail</th>"
                           "</tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                                            rows))

    @admin.display(description="probes")
    def probe_table(self, run: Run) -> str:
        rows = [(p.get("name"), probe.get("name"), json.dumps(probe.get("value"), default=str)[:300],
                 json.dumps(probe.get("tolerance"), default=str)[:200], "ok" if probe.get("ok") else "NOT OK")
                for p in run.phases or [] for probe in p.get("probes") or []]
        if not rows:
            return "—"
        return format_html("<table><tr><th>phase</th><th>probe</th><th>value</th><th>tolerance</th><th>verdict</th>"
                           "</tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}"
                                            "</code></td><td>{}</td></tr>", rows))

    @admin.display(description="faults")
    def fault_table(self, run: Run) -> str:
        rows = [(reverse("admin:chaos_fault_change", args=[f.pk]), f.pk, f.kind, json.dumps(f.params),
                 f.removal_reason or ("in force" if f.is_active() else "expired")) for f in run.faults.order_by("pk")]
        if not rows:
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", '<tr><td><a href="{}">#{}</a></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>', rows))

    @admin.display(description="report (Markdown)")
    def report(self, run: Run) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', run.report_markdown or "—")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chaos.change_run")

    @admin.action(description="Approve selected production drills (second person)", permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(run: Run, reason: str) -> str:
            services.approve_run(run=run, actor=request.user, reason=f"admin: {reason}")
            return f"Run #{run.pk} approved and queued."

        return confirm_with_reason(self, request, queryset.filter(status=RunStatus.PENDING), title="Approve drill",
                                   action="approve", apply=apply,
                                   warning="The drill injects faults into production within its TTL and blast radius.")


class ActiveFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "in force"), ("no", "ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(removed_at__isnull=True, expires_at__gt=now)
        if self.value() == "no":
            return queryset.exclude(removed_at__isnull=True, expires_at__gt=now)
        return queryset


@admin.register(Fault)
class FaultAdmin(ChaosPages, ReadOnlyHistoryAdmin):
    list_display = ["id", "kind", "service", "environment", "share", "expires_at", "countdown", "run", "created_by",
                    "removed_at"]
    list_filter = [ActiveFilter, "kind", "service", "environment"]
    list_select_related = ["service", "environment", "run", "created_by"]
    fields = ("service", "environment", "kind", "params", "scope", "created_at", "expires_at", "countdown", "run",
              "created_by", "reason", "removed_at", "removed_by", "removal_reason")
    readonly_fields = fields
    actions = ["remove"]

    @admin.display(description="share")
    def share(self, fault: Fault) -> str:
        return f"{float((fault.scope or {}).get('share', 1.0)):.0%}"

    @admin.display(description="expires")
    def countdown(self, fault: Fault) -> str:
        return "removed" if fault.removed_at else _countdown(fault)

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chaos.change_fault") or request.user.has_perm(HALT_PERMISSION)

    @admin.action(description="Remove selected faults now", permissions=["remove"])
    def remove(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(fault: Fault, reason: str) -> str:
            services.remove_fault(fault=fault, actor=request.user, reason=f"admin: {reason}")
            return f"Fault #{fault.pk} removed."

        return confirm_with_reason(self, request, queryset.filter(removed_at__isnull=True), title="Remove faults",
                                   action="remove", apply=apply,
                                   warning="Every SDK drops the fault within seconds (pushed like a flag change).")

    def get_urls(self) -> list[Any]:
        return [path("halt/", self.admin_site.admin_view(functools.partial(halt_view, self)), name="chaos_halt"),
                *super().get_urls()]


def halt_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """Halt all chaos: a reason, the faults it removes, one button."""
    if not request.user.has_perm(HALT_PERMISSION):
        raise PermissionDenied
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        removed = services.halt_all(actor=request.user, reason=f"admin: {form.cleaned_data['reason']}")
        model_admin.message_user(request, f"Halted all chaos: {len(removed)} fault(s) removed.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:chaos_fault_changelist") + "?active=yes")
    faults = list(queries.active_faults())
    return TemplateResponse(request, "admin/chaos/halt.html", {
        **model_admin.admin_site.each_context(request), "title": "Halt all chaos", "form": form,
        "faults": [(f, _countdown(f)) for f in faults],
        "running": Run.objects.filter(status=RunStatus.RUNNING).select_related("experiment", "environment"),
    })
