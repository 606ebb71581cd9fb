"""Release manager's admin: one page per release with its evidence chain; approve, promote, roll back; DORA."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from governance import formatting
from governance.admin_tools import AuditedAdmin, HistoryAdmin, ReadOnlyHistoryAdmin, ReasonForm, confirm_with_reason
from governance.models import Service
from releases import dora_chart, gates, queries, recurrence, services
from releases.models import (
    Approval,
    Check,
    Deployment,
    FreezeOverride,
    FreezeWindow,
    GatePolicy,
    RecurringFreeze,
    Release,
    ReleaseAlert,
)


def _failed(release: Release, checks: list[Check]) -> list[Check]:
    """Checks that failed on the release's current evidence (shown on every release page, whatever the policy)."""
    return [c for c in checks if c.status == Check.Status.FAILURE and c.evidence_digest == release.evidence_digest]


def _production() -> Any:
    environment = queries.production_environment()
    if environment is None:
        raise ValidationError("there is no production environment")
    return environment


@admin.register(Release)
class ReleaseAdmin(HistoryAdmin):
    list_display = ["__str__", "state", "check_summary", "tag", "short_sha", "bump", "created_at", "short_digest"]
    list_filter = ["state", "service"]
    search_fields = ["version", "tag", "build_sha", "service__slug"]
    list_select_related = ["service"]
    date_hierarchy = "created_at"
    actions = ["approve", "promote", "rollback", "override_freeze", "post_summary"]
    change_form_template = "admin/releases/release/change_form.html"
    change_list_template = "admin/releases/release/change_list.html"
    fields = ["service", "version", "tag", "build_sha", "schema_hash", "pr_url", "author", "channel", "bump", "state",
              "state_changed_at", "evidence_digest", "evidence_revision", "first_commit_at", "bump_policy",
              "artifacts", "changelog", "commits", "pr_comment_url", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # CI registers releases through the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The page of one release is read-only; the change permission gates the actions on the list.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[Release]:
        return super().get_queryset(request).prefetch_related("checks")

    @admin.display(description="checks")
    def check_summary(self, release: Release) -> str:
        checks = list(release.checks.all())
        failed = _failed(release, checks)
        if failed:
            return format_html('<span class="verdict verdict-failure">✗ failed: {}</span>',
                               ", ".join(c.name for c in failed))
        if not checks:
            return "—"
        passing = sum(1 for c in checks if c.status in gates.PASSING_CHECK and c.evidence_digest == release.evidence_digest)
        return format_html('<span class="verdict verdict-{}">{} of {} passing</span>',
                           "success" if passing == len(checks) else "pending", passing, len(checks))

    @admin.display(description="SHA")
    def short_sha(self, release: Release) -> str:
        return release.build_sha[:10]

    @admin.display(description="evidence")
    def short_digest(self, release: Release) -> str:
        return f"{release.evidence_digest[:12]}… r{release.evidence_revision}"

    def get_urls(self) -> list[Any]:
        return [path("dora/", self.admin_site.admin_view(self.dora_view), name="releases_release_dora"),
                *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        release = self.get_object(request, object_id)  # None for an unknown or malformed id, as Django shows it
        context = dict(extra_context or {})
        if release is not None:
            context.update(self._chain(release))
            context["can_act"] = super().has_change_permission(request)
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _chain(self, release: Release) -> dict[str, Any]:
        production = queries.production_environment()
        decision = gates.evaluate(release, production) if production else None
        now = timezone.now()
        approvals = []
        for a in release.approvals.select_related("approver", "environment"):
            approvals.append({"approval": a, "status": queries.approval_status(a, release, now),
                              "signs_current": a.evidence_digest == release.evidence_digest})
        checks = list(release.checks.all())
        return {
            "release": release,
            "gate": decision,
            "checks": checks,
            "failed_checks": _failed(release, checks),
            "approvals": approvals,
            "deployments": list(Deployment.objects.filter(Q(release=release) | Q(replaces=release))
                                .select_related("environment", "requested_by", "release", "replaces")),
            "overrides": list(release.freeze_overrides.select_related("window", "overridden_by")),
            "alerts": list(release.alerts.all()),
            "rollback_candidates": list(queries.rollback_candidates(release.service)[:5])
            if release.state == Release.State.LIVE else [],
        }

    # --- actions -------------------------------------------------------------------------------------

    def _signing(self, releases: list[Release], *, approving: bool) -> dict[str, Any]:
        """What the person signs, per release: digest, checks, the gate with every input; and why not, if not."""
        production = queries.production_environment()
        items, blocked = [], []
        for release in releases:
            decision = gates.evaluate(release, production) if production else None
            checks = list(release.checks.all())
            items.append({"release": release, "gate": decision, "checks": checks,
                          "failed_checks": _failed(release, checks)})
            if decision is not None:
                blocked += [f"{release}: {why}" for why in gates.blockers(decision, approving=approving)]
        return {"signing": items, "blocked": blocked}

    @admin.action(description="Approve for production (signs the current evidence)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(release: Release, reason: str) -> str:
            # The page disabled Confirm while the gate blocked; a stale page or a crafted POST meets the same rule
            # in the service (approve_release refuses while an input about what is signed blocks).
            approval = services.approve_release(release=release, environment=_production(), actor=request.user,
                                                reason=reason)
            return f"{release}: approved (evidence {approval.evidence_digest[:12]}…, until " \
                   f"{formatting.when(approval.expires_at)})"

        releases = list(queryset.select_related("service").prefetch_related("checks"))
        return confirm_with_reason(self, request, queryset, title="Approve for production", action="approve",
                                   apply=apply, template="admin/releases/release/confirm.html",
                                   extra_context=self._signing(releases, approving=True))

    @admin.action(description="Promote to production", permissions=["change"])
    def promote(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(release: Release, reason: str) -> str:
            deployment = services.start_promotion(release=release, environment=_production(), actor=request.user,
                                                  reason=reason)
            return f"{release}: promotion started (deployment #{deployment.pk}, provider {deployment.provider})"

        releases = list(queryset.select_related("service").prefetch_related("checks"))
        return confirm_with_reason(self, request, queryset, title="Promote to production", action="promote",
                                   apply=apply, template="admin/releases/release/confirm.html",
                                   extra_context=self._signing(releases, approving=False))

    @admin.action(description="Roll back (to an earlier live release)", permissions=["change"])
    def rollback(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        releases = list(queryset.select_related("service"))
        if len(releases) != 1 or releases[0].state != Release.State.LIVE:
            self.message_user(request, "Select the one live release to roll back.", messages.ERROR)
            return None
        current = releases[0]
        candidates = queries.rollback_candidates(current.service)

        class RollbackForm(ReasonForm):
            target = forms.ModelChoiceField(queryset=candidates, initial=candidates.first(), required=True,
                                            empty_label=None, help_text="Default: the release live before this one.")

        def apply(release: Release, reason: str) -> str:
            form = request._confirm_form  # type: ignore[attr-defined]  # set by confirm_with_reason
            target = form.cleaned_data["target"]
            deployment = services.start_rollback(service=release.service, target=target, actor=request.user,
                                                 reason=reason)
            return f"{release.service.slug}: rollback to {target.version} started (deployment #{deployment.pk})"

        return confirm_with_reason(self, request, queryset, title=f"Roll back {current}", action="rollback",
                                   warning="Production goes back to the chosen release through the deploy provider.",
                                   apply=apply, extra_form=RollbackForm)

    @admin.action(description="Override the production freeze for these releases", permissions=["change"])
    def override_freeze(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(release: Release, reason: str) -> str:
            done = services.override_freeze(release=release, environment=_production(), actor=request.user,
                                            reason=reason)
            return f"{release}: freeze overridden ({', '.join(o.window.title for o in done)})"

        return confirm_with_reason(self, request, queryset, title="Override the freeze", action="override_freeze",
                                   warning="The override is recorded with your name and reason.", apply=apply)

    @admin.action(description="Post the deploy summary to the pull request", permissions=["change"])
    def post_summary(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(release: Release, reason: str) -> str:
            url = services.post_summary_to_pr(release=release, actor=request.user, reason=reason)
            return f"{release}: summary posted ({url})"

        return confirm_with_reason(self, request, queryset, title="Post deploy summary", action="post_summary",
                                   apply=apply)

    # --- DORA ----------------------------------------------------------------------------------------

    def dora_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = DoraForm(request.GET or None)
        service, period, weeks = None, "week", 12
        if form.is_valid():
            service = form.cleaned_data["service"]
            period = form.cleaned_data["period"] or "week"
            weeks = form.cleaned_data["weeks"] or 12
        until = timezone.now()
        report = queries.dora_metrics(service=service, since=until - timedelta(weeks=weeks), until=until,
                                      period=period)
        context = {
            **self.admin_site.each_context(request), "title": "DORA metrics", "opts": self.model._meta,
            "form": form, "report": report, "rows": dora_chart.rows(report), "chart": dora_chart.svg(report),
            "totals": dora_chart.totals(report),
        }
        return TemplateResponse(request, "admin/releases/dora.html", context)


class DoraForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False, empty_label="all services")
    period = forms.ChoiceField(choices=[(p, p) for p in queries.PERIODS], required=False, initial="week")
    weeks = forms.IntegerField(min_value=1, max_value=104, required=False, initial=12)


@admin.register(GatePolicy)
class GatePolicyAdmin(AuditedAdmin):
    list_display = ["__str__", "required_checks", "advisory_checks", "min_soak_minutes", "approvals_required", "approval_ttl_hours"]
    list_filter = ["environment", "service"]
    list_select_related = ["service", "environment"]


@admin.register(FreezeWindow)
class FreezeWindowAdmin(AuditedAdmin):
    list_display = ["title", "service", "environment", "starts_at", "ends_at", "recurrence", "maintenance"]
    list_filter = ["environment", "service", "recurrence"]
    list_select_related = ["service", "environment", "recurrence"]
    readonly_fields = ["recurrence", "maintenance"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An occurrence of a recurring freeze is the rule's: edit the rule (a hand edit would be undone).
        # A maintenance's freeze is the maintenance's: reschedule or complete the maintenance instead.
        if obj is not None and (obj.recurrence_id is not None or obj.maintenance_id is not None):
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="declared by maintenance")
    def maintenance(self, window: FreezeWindow) -> str:
        if window.maintenance_id is None:
            return "—"
        url = reverse("admin:status_incident_change", args=[window.maintenance_id])
        return format_html('<a href="{}">maintenance #{}</a>{}', url, window.maintenance_id,
                           f" — {window.maintenance_reason}" if window.maintenance_reason else "")


@admin.register(RecurringFreeze)
class RecurringFreezeAdmin(AuditedAdmin):
    list_display = ["title", "service", "environment", "cron", "time_zone", "duration", "active",
                    "next_occurrences"]
    list_filter = ["active", "environment", "service"]
    list_select_related = ["service", "environment"]
    search_fields = ["title"]
    fields = ["title", "service", "environment", "cron", "time_zone", "duration_minutes", "active",
              "next_occurrences", "windows"]
    readonly_fields = ["next_occurrences", "windows"]
    reason_field_help = "Why this change? Recorded in the audit trail of the rule and of each window it changes."

    @admin.display(description="duration")
    def duration(self, rule: RecurringFreeze) -> str:
        return formatting.duration(rule.duration_minutes * 60)

    @admin.display(description="next occurrences (local, then UTC)")
    def next_occurrences(self, rule: RecurringFreeze) -> str:
        if rule.pk is None:
            return "shown once saved"
        if not rule.active:
            return "none: inactive"
        now = timezone.now()
        try:
            upcoming = list(itertools.islice(
                recurrence.windows(rule.schedule, since=now, until=now + recurrence.CHECK_SPAN), 3))
        except recurrence.RecurrenceError as exc:
            return exc.message
        except (OverflowError, ValueError):  # the form is being re-shown with a value it refused (e.g. 2**53 min)
            return "shown once the rule is valid"
        if not upcoming:
            return "none in the next year"
        return format_html_join(
            mark_safe("<br>"), "{}{}",
            ((recurrence.describe(w, rule.time_zone), " (in progress)" if w.starts_at <= now else "")
             for w in upcoming),
        )

    @admin.display(description="freeze windows")
    def windows(self, rule: RecurringFreeze) -> str:
        if rule.pk is None:
            return "—"
        url = reverse("admin:releases_freezewindow_changelist") + f"?recurrence__id__exact={rule.pk}"
        upcoming = rule.windows.filter(ends_at__gt=timezone.now()).count()
        return format_html('<a href="{}">{} current or upcoming</a>', url, upcoming)

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = [f for f in form.changed_data if f != "reason" and f in {x.name for x in obj._meta.concrete_fields}]
        result = services.save_recurring_freeze(rule=obj, actor=request.user, reason=reason,
                                                update_fields=fields or None)
        self.message_user(request, _materialised_message(result),
                          messages.WARNING if result.kept_in_progress or result.kept_overridden else messages.INFO)


def _materialised_message(result: services.Materialised) -> str:
    done = (f"Freeze windows of “{result.rule}”: {len(result.created)} created, {len(result.updated)} changed, "
            f"{len(result.removed)} removed (up to {services.freezes.HORIZON.days} days ahead; the hourly job "
            "adds the later ones).")
    kept = [f"the window in progress ({w}) stays as it was" for w in result.kept_in_progress]
    kept += [f"{w} stays because releases were let through it (freeze overrides)" for w in result.kept_overridden]
    if not kept:
        return done
    return (f"{done} Kept: {'; '.join(kept)}. An edit never changes a window that has started or that has "
            "overrides; to let a release through one, use “Override the freeze” on the release.")


@admin.register(Check)
class CheckAdmin(ReadOnlyHistoryAdmin):
    list_display = ["release", "name", "status", "reported_at", "url"]
    list_filter = ["status", "name"]
    list_select_related = ["release__service"]
    search_fields = ["name", "release__version"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyHistoryAdmin):
    list_display = ["release", "environment", "approver", "created_at", "expires_at", "voided_at"]
    list_select_related = ["release__service", "environment", "approver"]


@admin.register(FreezeOverride)
class FreezeOverrideAdmin(ReadOnlyHistoryAdmin):
    list_display = ["release", "window", "overridden_by", "reason", "created_at"]
    list_select_related = ["release__service", "window", "overridden_by"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyHistoryAdmin):
    list_display = ["release", "environment", "kind", "status", "provider", "requested_by", "created_at",
                    "finished_at"]
    list_filter = ["kind", "status", "environment", "provider"]
    list_select_related = ["release__service", "environment", "requested_by"]


@admin.register(ReleaseAlert)
class ReleaseAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "release", "message", "notified"]
    list_select_related = ["release__service"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from releases import admin_github  # noqa: E402,F401  the GitHub pages (read-only)
