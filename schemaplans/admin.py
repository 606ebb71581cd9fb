"""Admin: schema plans (flow, verification runs, rollback horizon) and backfills (progress, pause/resume/cancel)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from governance import formatting
from governance.admin_tools import AuditedAdmin, ReasonForm, confirm_with_reason
from schemaplans import queries, services
from schemaplans.models import Backfill, BackfillProgress, SchemaPlan

RECENT_RUNS = 20


class TransitionForm(ReasonForm):
    status = forms.ChoiceField(choices=[c for c in SchemaPlan.Status.choices if c[0] != SchemaPlan.Status.VERIFIED],
                               help_text="Verified is reached only through verification runs.")
    release_version = forms.CharField(required=False, max_length=100,
                                      help_text="When moving to expanded: the version of the release that shipped it.")


def _duration(seconds: float | None) -> str:
    return "—" if seconds is None else formatting.duration(seconds)


@admin.register(SchemaPlan)
class SchemaPlanAdmin(AuditedAdmin):
    list_display = ["slug", "service", "table", "status", "verification_state", "expand_release_version",
                    "status_changed_at"]
    list_filter = ["status", "service"]
    search_fields = ["slug", "table", "description"]
    list_select_related = ["service"]
    actions = ["transition", "verify_now"]
    readonly_fields = ["status", "status_changed_at", "created_at", "verification_state", "recent_runs",
                       "rollback_horizon"]
    fieldsets = [
        (None, {"fields": ["slug", "service", "description", "status", "status_changed_at", "created_at"]}),
        ("Change", {"fields": ["table", "columns", "expand_migration", "contract_migration",
                               "expand_release_version"]}),
        ("Verification", {"fields": ["verification_sql", "database", "required_zero_runs", "verification_window",
                                     "verification_state", "recent_runs"]}),
        ("Rollback horizon", {"fields": ["rollback_horizon"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["slug", "service"]  # contract migrations name the plan; it never moves to another service
        return fields

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if not change:
            super().save_via_service(request, obj, form, change, reason)
            return
        concrete = {f.name for f in SchemaPlan._meta.concrete_fields}
        fields = [f for f in form.changed_data if f in concrete]
        services.update_plan(plan=obj, fields=fields, actor=request.user, reason=reason)

    @admin.display(description="verification")
    def verification_state(self, plan: SchemaPlan) -> str:
        summary = services.verification_summary(plan)
        if plan.status != SchemaPlan.Status.VERIFYING:
            return "—" if plan.status not in (SchemaPlan.Status.VERIFIED, SchemaPlan.Status.CONTRACTED) else "proved"
        return (f"{summary['zero_streak']}/{summary['required_zero_runs']} zero runs over "
                f"{_duration(summary['streak_span_seconds'])} of {_duration(summary['verification_window_seconds'])}")

    @admin.display(description=f"last {RECENT_RUNS} verification runs")
    def recent_runs(self, plan: SchemaPlan) -> str:
        runs = list(plan.verification_runs.all()[:RECENT_RUNS]) if plan.pk else []
        if not runs:
            return "No runs yet."
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            ((formatting.when(r.ran_at, seconds=True), "—" if r.mismatches is None else r.mismatches, r.zero_streak,
              r.duration_ms, r.error or "") for r in runs),
        )
        return format_html("<table><thead><tr><th>ran at</th><th>mismatching rows</th><th>zero streak</th>"
                           "<th>took</th><th>error</th></tr></thead><tbody>{}</tbody></table>", rows)

    @admin.display(description="rollback horizon of the service")
    def rollback_horizon(self, plan: SchemaPlan) -> str:
        if not plan.pk:
            return "—"
        horizon = queries.rollback_horizon(plan.service)
        if not horizon:
            return "No contracted plans: any earlier release can be rolled back to."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>",
                                ((slug, version or "unknown") for slug, version in horizon.items()))
        oldest = queries.oldest_rollback_target(plan.service)
        return format_html(
            "<p>Releases older than the expand release of a contracted plan expect what it dropped: they can no "
            "longer be rolled back to. Oldest rollback target: <strong>{}</strong>.</p>"
            "<table><thead><tr><th>contracted plan</th><th>expand release</th></tr></thead><tbody>{}</tbody></table>",
            oldest or "unknown", rows,
        )

    @admin.action(description="Move selected plans to another state", permissions=["change"])
    def transition(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(plan: SchemaPlan, reason: str) -> str:
            form = request._confirm_form  # type: ignore[attr-defined]  # set by confirm_with_reason
            moved = services.transition_plan(plan=plan, to=form.cleaned_data["status"], actor=request.user,
                                             reason=reason, release_version=form.cleaned_data["release_version"])
            return f"{moved.slug}: now {moved.status}."

        return confirm_with_reason(self, request, queryset, title="Move schema plans", action="transition",
                                   apply=apply, extra_form=TransitionForm)

    @admin.action(description="Run the verification query now", permissions=["change"])
    def verify_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(plan: SchemaPlan, reason: str) -> str:
            run = services.verify_plan(plan=plan, actor=request.user, reason=reason)
            plan.refresh_from_db()
            found = f"{run.mismatches} mismatching rows" if run.mismatches is not None else f"failed: {run.error}"
            return f"{plan.slug}: {found}; zero streak {run.zero_streak}/{plan.required_zero_runs}; {plan.status}."

        return confirm_with_reason(self, request, queryset, title="Verify schema plans", action="verify_now",
                                   apply=apply)


def progress_bar(progress: BackfillProgress | None) -> str:
    """A <progress> bar with the percentage, rows done of the estimate, rate and ETA (HTML and CSS only)."""
    fraction = progress.fraction if progress else None
    if progress is None or fraction is None:
        return mark_safe('<progress max="100" aria-label="not started"></progress> not started')  # noqa: S308
    percent = round(fraction * 100, 1)
    estimate = f"{progress.estimated_rows:,}" if progress.estimated_rows is not None else "?"
    rate = f"{progress.rate:,.0f} rows/s" if progress.rate else "—"
    return format_html(
        '<progress max="100" value="{}" aria-label="{}% done">{}%</progress> {}% · {} of ~{} rows · {} · ETA {}',
        percent, percent, percent, percent, f"{progress.rows_done:,}", estimate, rate,
        _duration(progress.eta_seconds),
    )


class BackfillAddForm(forms.ModelForm):
    class Meta:
        model = Backfill
        fields = ["name", "service", "plan", "database", "table", "key_column", "sql", "callable_path",
                  "sql_is_idempotent", "target_batch_ms", "initial_batch_size", "min_batch_size", "max_batch_size",
                  "lock_timeout_ms", "statement_timeout_ms", "rest_ratio", "max_attempts", "max_transaction_age_s",
                  "max_replication_lag_s"]


@admin.register(Backfill)
class BackfillAdmin(AuditedAdmin):
    list_display = ["id", "name", "service", "plan", "status", "progress_column", "throttle", "updated"]
    list_filter = ["status", "service"]
    search_fields = ["name", "table", "plan__slug"]
    list_select_related = ["service", "plan", "progress"]
    actions = ["start", "approve_start", "pause", "resume", "cancel"]
    config_fields = BackfillAddForm.Meta.fields
    state_fields = ["status", "status_reason", "start_requested_by", "created_at", "started_at", "finished_at", "progress_column",
                    "progress_details"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        if obj is None:
            kwargs["form"] = BackfillAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": self.config_fields}), ("Audit", {"fields": ["reason"]})]
        return [("State", {"fields": self.state_fields}), ("Configuration", {"fields": self.config_fields}),
                ("Audit", {"fields": ["reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # Knobs may be tuned while pending or paused (they apply from the next run); what it touches may not.
        fixed = ["name", "service", "plan", "database", "table", "key_column", "sql", "callable_path",
                 "sql_is_idempotent"]
        if obj.status == Backfill.Status.PENDING:
            fixed = []
        elif obj.status not in (Backfill.Status.PAUSED,):
            fixed = list(self.config_fields)
        return [*self.state_fields, *fixed]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            super().save_via_service(request, obj, form, change, reason)
            return
        fields = {f: form.cleaned_data[f] for f in self.config_fields if f in form.cleaned_data}
        created = services.create_backfill(actor=request.user, reason=reason, **fields)
        obj.pk = created.pk

    @staticmethod
    def _progress(backfill: Backfill) -> BackfillProgress | None:
        try:
            return backfill.progress
        except BackfillProgress.DoesNotExist:
            return None

    @admin.display(description="progress")
    def progress_column(self, backfill: Backfill) -> str:
        return progress_bar(self._progress(backfill))

    @admin.display(description="throttled")
    def throttle(self, backfill: Backfill) -> str:
        progress = self._progress(backfill)
        return progress.throttle_reason if progress and progress.throttle_reason else ""

    @admin.display(description="updated")
    def updated(self, backfill: Backfill) -> Any:
        progress = self._progress(backfill)
        return progress.updated_at if progress else None

    @admin.display(description="details")
    def progress_details(self, backfill: Backfill) -> str:
        p = self._progress(backfill)
        if p is None:
            return "—"
        items = [
            ("key range", f"[{p.lower_key}, {p.upper_key})" if p.upper_key is not None else "not captured yet"),
            ("last key (checkpoint)", p.next_key if p.next_key is not None else "—"),
            ("batches", p.batches_done), ("batch size", p.batch_size),
            ("last / longest batch", f"{p.last_batch_ms:.0f} ms / {p.max_batch_ms:.0f} ms"),
            ("retries / splits", f"{p.retries} / {p.splits}"),
            ("time running / throttled", f"{_duration(p.active_seconds)} / {_duration(p.throttled_seconds)}"),
            ("throttled because", p.throttle_reason or "—"), ("last error", p.last_error or "—"),
        ]
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", items))

    def _act(self, request: HttpRequest, queryset: QuerySet, *, title: str, action: str, service: Any,
             warning: str = "") -> HttpResponse | None:
        def apply(backfill: Backfill, reason: str) -> str:
            done = service(backfill=backfill, actor=request.user, reason=reason)
            return f"{done}: now {done.status}."

        return confirm_with_reason(self, request, queryset, title=title, action=action, apply=apply, warning=warning)

    @admin.action(description="Start selected backfills", permissions=["change"])
    def start(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, title="Start backfills", action="start", service=services.start_backfill,
                         warning="A worker starts writing batches to the target database at once (where a second "
                                 "person is required, it waits for their approval).")

    @admin.action(description="Approve the start of selected backfills (second person)", permissions=["change"])
    def approve_start(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, title="Approve backfill starts", action="approve_start",
                         service=services.approve_backfill_start,
                         warning="You are the second person: read the statement first. A worker starts writing "
                                 "batches to the target database at once.")

    @admin.action(description="Pause selected backfills (after the current batch)", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, title="Pause backfills", action="pause", service=services.pause_backfill)

    @admin.action(description="Resume selected backfills from their checkpoint", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, title="Resume backfills", action="resume",
                         service=services.resume_backfill)

    @admin.action(description="Cancel selected backfills for good", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._act(request, queryset, title="Cancel backfills", action="cancel", service=services.cancel_backfill,
                         warning="Committed batches stay; a cancelled backfill cannot be resumed.")
