"""Admin: SLOs (with the per-service SLO page), alerts, snapshots, check runs, channels, overrides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from governance import formatting
from governance.admin import ReadOnlyAdmin, ServiceFilter
from governance.admin_tools import AuditedAdmin, confirm_with_reason
from governance.models import Service
from observability import queries, services, slo_math
from observability.burndown import render_burndown_svg
from observability.models import (
    ErrorBudgetOverride,
    NotificationChannel,
    NotificationDelivery,
    Slo,
    SloAlert,
    SloCheckRun,
    SloSnapshot,
)


def _pct(value: float | None, digits: int = 3) -> str:
    return formatting.percent(value, digits=digits)


@admin.register(Slo)
class SloAdmin(AuditedAdmin):
    list_display = ["name", "service", "environment", "sli_type", "objective_pct", "window_display", "enabled",
                    "slo_page"]
    list_filter = [ServiceFilter, "environment", "sli_type", "enabled", "source"]
    list_select_related = ["service", "environment"]
    search_fields = ["name", "service__slug"]
    identity = ["service", "environment", "name"]
    editable = services.SLO_FIELDS  # what update_slo accepts
    reason_field_help = "Why change this objective? Recorded in the audit trail."

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": self.identity}), ("Objective", {"fields": self.editable}),
                ("Audit", {"fields": ["reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.identity if obj is not None else []

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = {f: form.cleaned_data[f] for f in self.editable if f in form.cleaned_data}
        if change:
            services.update_slo(slo=obj, actor=request.user, reason=reason,
                                **{f: v for f, v in fields.items() if f in form.changed_data})
            return
        created = services.create_slo(service=form.cleaned_data["service"],
                                      environment=form.cleaned_data["environment"], name=form.cleaned_data["name"],
                                      actor=request.user, reason=reason, **fields)
        obj.pk = created.pk

    @admin.display(description="objective", ordering="objective")
    def objective_pct(self, slo: Slo) -> str:
        return formatting.percent(slo.objective)

    @admin.display(description="window", ordering="window_minutes")
    def window_display(self, slo: Slo) -> str:
        return queries.slo_math_window(slo.window)

    @admin.display(description="SLO page")
    def slo_page(self, slo: Slo) -> str:
        url = reverse("admin:observability_slo_service", args=[slo.service_id])
        return format_html('<a href="{}">{} SLOs</a>', url, slo.service.slug)

    def get_urls(self) -> list[Any]:
        return [path("service/<int:service_id>/", self.admin_site.admin_view(self.service_page_view),
                     name="observability_slo_service"), *super().get_urls()]

    def service_page_view(self, request: HttpRequest, service_id: int) -> HttpResponse:
        """Every SLO of one service: compliance, budget, burn rates, alerts and the burn-down chart."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        service = get_object_or_404(Service, pk=service_id)
        slos = list(queries.slos_for_check().filter(service=service))
        statuses = queries.slo_statuses(slos)
        series = queries.burndown_series(statuses)
        alerts = list(SloAlert.objects.filter(slo__service=service).filter(resolved_at__isnull=True)
                      .order_by("slo_id", "-opened_at"))
        alerts_by_slo: dict[int | None, list[SloAlert]] = {}
        for alert in alerts:
            alerts_by_slo.setdefault(alert.slo_id, []).append(alert)
        end = statuses[0].window_end if statuses else slo_math.window_end(timezone.now())
        longest = max((s.definition.window for s in statuses), default=timedelta(0))
        chaos = queries.chaos_points(service_id=service.pk, start=end - longest, end=end)
        rows = []
        for status in statuses:
            report = status.report
            d = status.definition
            no_data = report is None or report.verdict == slo_math.Verdict.INSUFFICIENT_DATA
            firing_now = [x for x in status.decisions if x.firing]
            rows.append({
                "no_data": no_data,
                "firing_now": firing_now,
                "slo": status.slo,
                "definition": d,
                "objective": formatting.percent(d.objective),
                "window": queries.slo_math_window(d.window),
                "report": report,
                "compliance": "no data" if no_data or report is None or report.compliance is None
                else _pct(float(report.compliance)),
                "remaining_events": "—" if no_data or report is None else f"{float(report.remaining):,.1f}",
                "remaining_pct": "no data" if no_data or report is None or report.remaining_fraction is None
                else _pct(float(report.remaining_fraction), 1),
                "verdict": "no data" if no_data or report is None else report.verdict.value.replace("_", " "),
                "maintenance": (f"declared windows left out: {status.excluded_minutes} min in this window"
                                if status.slo.exclude_maintenance else "counted (windows are not excluded)"),
                "exhausted": status.exhausted,
                "burn": [{"windows": f"{queries.slo_math_window(x.long_window)} / "
                                     f"{queries.slo_math_window(x.short_window)}",
                          "action": x.action.value, "factor": f"{float(x.factor):.2f}",
                          "long": f"{float(x.long_burn_rate):.2f}", "short": f"{float(x.short_burn_rate):.2f}",
                          "firing": x.firing} for x in status.decisions],
                "alerts": alerts_by_slo.get(status.slo.pk, []),
                "chart": mark_safe(render_burndown_svg(  # noqa: S308 - the renderer escapes every text it writes
                    series.get(status.slo.pk, []), title=f"{d.environment}: {d.name} error budget",
                    element_id=f"burndown-{status.slo.pk}")),
                "error": status.error,
                "chaos": queries.chaos_events(chaos, environment_id=status.slo.environment_id,
                                              start=status.window_end - d.window, end=status.window_end),
            })
        last_run = SloCheckRun.objects.filter(status=SloCheckRun.Status.OK).order_by("-finished_at").first()
        context = {
            **self.admin_site.each_context(request),
            "title": f"SLOs of {service.slug}",
            "service": service,
            "rows": rows,
            "window_end": statuses[0].window_end if statuses else slo_math.window_end(timezone.now()),
            "last_run": last_run,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/observability/slo_service.html", context)


@admin.register(SloAlert)
class SloAlertAdmin(AuditedAdmin):
    list_display = ["summary", "kind", "severity", "opened_at", "last_seen_at", "resolved_at", "acknowledged_by"]
    list_filter = ["kind", "severity", ("resolved_at", admin.EmptyFieldListFilter), ServiceFilter]
    list_select_related = ["slo", "service"]
    actions = ["acknowledge"]
    readonly_fields = ["kind", "dedupe_key", "slo", "service", "severity", "action", "long_window", "short_window",
                       "factor", "long_burn_rate", "short_burn_rate", "summary", "opened_at", "last_seen_at",
                       "resolved_at", "acknowledged_at", "acknowledged_by"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": self.readonly_fields})]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are opened by the checker

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change form is read-only (the checker owns the figures); the acknowledge action needs the
        # model-wide change permission, asked with obj=None.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Acknowledge selected alerts (someone is on it)", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[SloAlert]) -> HttpResponse | None:
        def apply(alert: SloAlert, reason: str) -> None:
            services.acknowledge_alert(alert=alert, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Acknowledge alerts", action="acknowledge",
                                   apply=apply)


@admin.register(SloSnapshot)
class SloSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["slo", "kind", "taken_at", "verdict", "compliance_pct", "remaining_pct", "deployment_id"]
    list_filter = ["kind", "verdict"]
    list_select_related = ["slo__service", "slo__environment"]
    date_hierarchy = "taken_at"
    show_full_result_count = False

    @admin.display(description="compliance")
    def compliance_pct(self, snapshot: SloSnapshot) -> str:
        return _pct(snapshot.compliance)

    @admin.display(description="budget left")
    def remaining_pct(self, snapshot: SloSnapshot) -> str:
        return _pct(snapshot.budget_remaining_fraction, 1)


@admin.register(SloCheckRun)
class SloCheckRunAdmin(ReadOnlyAdmin):
    list_display = ["kind", "status", "started_at", "finished_at", "slo_count", "alerts_opened", "alerts_resolved"]
    list_filter = ["kind", "status"]


class ChannelForm(forms.ModelForm):
    severities = forms.MultipleChoiceField(choices=[("critical", "critical"), ("warning", "warning"),
                                                    ("info", "info")], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "url", "secret_env", "severities", "service", "enabled"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(AuditedAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "url", "secret_env", "severity_list", "service", "enabled"]
    list_select_related = ["service"]
    reason_field_help = "Why add or change where alerts go? Recorded in the audit trail."

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = [f for f in form.changed_data if f != "reason"] if change else None
        services.save_channel(channel=obj, actor=request.user, reason=reason, update_fields=fields)

    @admin.display(description="severities")
    def severity_list(self, channel: NotificationChannel) -> str:
        return ", ".join(channel.severities)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "channel_name", "event", "alert", "delivered", "attempts", "status_code", "error"]
    list_filter = ["delivered", "event"]
    list_select_related = ["alert"]


class OverrideAddForm(forms.ModelForm):
    class Meta:
        model = ErrorBudgetOverride
        fields = ["service", "release_id", "expires_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_at"].initial = timezone.now() + timedelta(hours=24)


@admin.register(ErrorBudgetOverride)
class ErrorBudgetOverrideAdmin(AuditedAdmin):
    list_display = ["service", "release_id", "granted_by", "justification", "created_at", "expires_at", "state"]
    list_select_related = ["service"]
    list_filter = [ServiceFilter]
    actions = ["revoke"]
    reason_field_help = "Why may releases pass while the error budget is exhausted? Shown in the gate's answer."

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        if obj is None:
            kwargs["form"] = OverrideAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form

        class Checked(form):  # type: ignore[misc,valid-type]  # a form class chosen at run time
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean()
                if cleaned.get("expires_at"):
                    try:
                        services.check_override_request(expires_at=cleaned["expires_at"], actor=request.user)
                    except ValidationError as exc:
                        self.add_error(None, exc)
                return cleaned

        return Checked

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["service", "release_id", "expires_at"]}), ("Audit", {"fields": ["reason"]})]
        return [(None, {"fields": self.get_readonly_fields(request, obj)})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["service", "release_id", "justification", "granted_by", "created_at", "expires_at", "revoked_at"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        override = services.grant_error_budget_override(
            service=form.cleaned_data["service"], release_id=form.cleaned_data.get("release_id"),
            expires_at=form.cleaned_data["expires_at"], actor=request.user, reason=reason)
        obj.pk = override.pk

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only once granted (revoke it and grant a new one); the revoke action asks with obj=None.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="state")
    def state(self, override: ErrorBudgetOverride) -> str:
        if override.revoked_at:
            return "revoked"
        return "active" if override.is_active() else "expired"

    @admin.action(description="Revoke selected overrides now", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ErrorBudgetOverride]) -> HttpResponse | None:
        def apply(override: ErrorBudgetOverride, reason: str) -> None:
            services.revoke_error_budget_override(override=override, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Revoke overrides", action="revoke", apply=apply)
