"""Admin for disaster recovery: targets (governed), backups and drills (read-only evidence), run actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from governance.admin import ReadOnlyAdmin
from governance.admin_tools import AuditedAdmin, confirm_with_reason
from governance.formatting import duration
from recovery import services
from recovery.models import Backup, BackupTarget, Drill

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Latest(TypedDict):
    last_backup_at: datetime | None
    last_drill_status: str | None


@admin.register(BackupTarget)
class BackupTargetAdmin(AuditedAdmin):
    list_display = ["name", "service", "database", "directory", "objective", "retention", "enabled", "last_backup",
                    "last_drill"]
    list_filter = ["objective", "enabled"]
    search_fields = ["name", "dsn_env", "directory"]
    list_select_related = ["service"]
    actions = ["run_restore_drill_now", "run_pitr_drill_now", "take_backup_now"]
    reason_field_help = "Why this change to the backup target? Recorded in the audit trail."

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        last_drill = Drill.objects.filter(target=OuterRef("pk"), kind=Drill.Kind.RESTORE).order_by("-requested_at")
        return super().get_queryset(request).annotate(
            last_backup_at=Max("backups__created_at", filter=Q(backups__status=Backup.Status.SUCCEEDED)),
            last_drill_status=Subquery(last_drill.values("status")[:1]),
        )

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = {f: form.cleaned_data[f] for f in services.TARGET_FIELDS if f in form.cleaned_data}
        if change:
            changed = {f: v for f, v in fields.items() if f in form.changed_data}
            services.update_backup_target(target=obj, actor=request.user, reason=reason, **changed)
            return
        created = services.create_backup_target(name=obj.name, directory=fields.pop("directory"),
                                                actor=request.user, reason=reason, **fields)
        obj.pk = created.pk

    @admin.display(description="database")
    def database(self, target: BackupTarget) -> str:
        return target.database_label

    @admin.display(description="keeps")
    def retention(self, target: BackupTarget) -> str:
        return f"{target.keep_daily} daily, {target.keep_monthly} monthly"

    @admin.display(description="last backup", ordering="last_backup_at")
    def last_backup(self, target: WithAnnotations[BackupTarget, _Latest]) -> datetime | str:
        return target.last_backup_at or "never"

    @admin.display(description="last restore drill")
    def last_drill(self, target: WithAnnotations[BackupTarget, _Latest]) -> str:
        return target.last_drill_status or "never"

    # Running drills and backups is an "add" of the evidence row: Maintenance admins and Administrators.
    def has_run_drill_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recovery.add_drill")

    def has_take_backup_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recovery.add_backup")

    def _request_drill(self, request: HttpRequest, queryset: QuerySet, kind: str, title: str,
                       warning: str) -> HttpResponse | None:
        def apply(target: BackupTarget, reason: str) -> str:
            drill = services.request_drill(target=target, kind=kind, actor=request.user, reason=f"admin: {reason}")
            drill.refresh_from_db(fields=["status"])
            url = reverse("admin:recovery_drill_change", args=[drill.pk])
            return format_html('Drill <a href="{}">#{}</a> of {}: {}.', url, drill.pk, target.name, drill.status)

        return confirm_with_reason(self, request, queryset, title=title, action=f"run_{kind}_drill_now",
                                   apply=apply, warning=warning)

    @admin.action(description="Run restore drill now", permissions=["run_drill"])
    def run_restore_drill_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._request_drill(
            request, queryset, Drill.Kind.RESTORE, "Run restore drill",
            "Restores the newest backup into a shadow database on the drill server, verifies it, then drops it.",
        )

    @admin.action(description="Run PITR drill now", permissions=["run_drill"])
    def run_pitr_drill_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._request_drill(
            request, queryset, Drill.Kind.PITR, "Run point-in-time recovery drill",
            "Builds two throwaway PostgreSQL clusters on the worker, replays WAL to a target time, then removes them.",
        )

    @admin.action(description="Take backup now", permissions=["take_backup"])
    def take_backup_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(target: BackupTarget, reason: str) -> str:
            services.request_backup(target=target, actor=request.user, reason=f"admin: {reason}")
            return f"Backup of {target.name} queued."

        return confirm_with_reason(self, request, queryset, title="Take backup", action="take_backup_now",
                                   apply=apply, warning="Runs pg_dump against the target database now.")


@admin.register(Backup)
class BackupAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "created_at", "status", "size", "short_sha256", "deleted_at", "created_by"]
    list_filter = ["status", "target", ("deleted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["target", "created_by"]
    date_hierarchy = "created_at"
    fields = ("target", "status", "created_at", "recorded_at", "created_by", "reason", "path", "manifest_path",
              "sha256", "size", "tables", "rows", "seconds", "error", "deleted_at", "deleted_reason",
              "phase_table", "manifest_json")
    readonly_fields = fields

    @admin.display(description="size")
    def size(self, backup: Backup) -> str:
        return f"{backup.size_bytes / 1e6:.1f} MB" if backup.size_bytes >= 1e5 else f"{backup.size_bytes} B"

    @admin.display(description="sha256")
    def short_sha256(self, backup: Backup) -> str:
        return backup.sha256[:12]

    @admin.display(description="phases")
    def phase_table(self, backup: Backup) -> str:
        return _phases(backup.phases)

    @admin.display(description="manifest")
    def manifest_json(self, backup: Backup) -> str:
        return format_html("<pre>{}</pre>", json.dumps(backup.manifest, indent=2, sort_keys=True))


@admin.register(Drill)
class DrillAdmin(ReadOnlyAdmin):
    list_display = ["id", "scope", "status", "failed_layers", "took", "requested_by", "requested_at"]
    list_filter = ["status", "kind", "target"]
    list_select_related = ["target", "requested_by"]
    search_fields = ["=id", "reason", "target__name"]
    date_hierarchy = "requested_at"
    fields = ("scope", "proves", "kind", "target", "backup", "status", "requested_by", "reason", "requested_at", "started_at",
              "finished_at", "took", "rpo", "error", "verdict_table", "phase_table", "report")
    readonly_fields = fields

    @admin.display(description="what it drills")
    def scope(self, drill: Drill) -> str:
        return drill.scope

    @admin.display(description="a pass proves")
    def proves(self, drill: Drill) -> str:
        return drill.proves

    @admin.display(description="failed layers")
    def failed_layers(self, drill: Drill) -> str:
        return ", ".join(v["layer"] for v in drill.failing_verdicts()) or "—"

    @admin.display(description="took / objective")
    def took(self, drill: Drill) -> str:
        if drill.total_seconds is None:
            return "—"
        return f"{duration(drill.total_seconds)} / {duration(drill.objective_seconds)} ({drill.objective})"

    @admin.display(description="achieved RPO")
    def rpo(self, drill: Drill) -> str:
        return "—" if drill.achieved_rpo_seconds is None else duration(drill.achieved_rpo_seconds)

    @admin.display(description="verdicts")
    def verdict_table(self, drill: Drill) -> str:
        if not drill.verdicts:
            return "—"
        rows = [(v["layer"], v["status"].upper(), v["summary"], "; ".join(v.get("problems") or [])[:2000])
                for v in drill.verdicts]
        return format_html("<table><tr><th>layer</th><th>verdict</th><th>summary</th><th>problems</th></tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows))

    @admin.display(description="phases")
    def phase_table(self, drill: Drill) -> str:
        return _phases(drill.phases)

    @admin.display(description="report (Markdown)")
    def report(self, drill: Drill) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', drill.report_markdown or "—")


def _phases(phases: list[dict[str, Any]]) -> str:
    if not phases:
        return "—"
    rows = [(p["name"], p["started_at"], duration(p["seconds"])) for p in phases]
    return format_html("<table>{}</table>",
                       format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows))
