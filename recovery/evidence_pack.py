"""The recovery section of an evidence pack (hooks.EVIDENCE_SECTIONS["recovery"]): every drill requested in the
range (restore and PITR), its verdicts, timings and objectives as JSON and its report as Markdown, and the backups
taken in the range. A service's pack holds its own databases' drills; the portal's own database (no service)
is in the pack for all services. Reads only."""

from __future__ import annotations

from datetime import datetime

from governance.evidence_pack import json_file, rows
from governance.models import Service
from recovery.models import Backup, Drill

DRILL_FIELDS = ("id", "kind", "target__name", "target__service__slug", "backup_id", "status", "verdicts", "phases",
                "objective", "objective_seconds", "recovery_seconds", "total_seconds", "achieved_rpo_seconds",
                "error", "requested_by__username", "reason", "requested_at", "started_at", "finished_at")


def section(*, start: datetime, end: datetime, service: Service | None) -> dict[str, bytes]:
    drills = Drill.objects.filter(requested_at__gte=start, requested_at__lt=end).order_by("requested_at", "id")
    backups = Backup.objects.filter(recorded_at__gte=start, recorded_at__lt=end).order_by("recorded_at", "id")
    if service is not None:
        drills, backups = drills.filter(target__service=service), backups.filter(target__service=service)
    files: dict[str, bytes] = {}
    summary = rows(drills, *DRILL_FIELDS)
    for drill in summary:
        name = f"drills/{drill['id']}-{drill['kind']}-{drill['target__name']}"
        files[f"{name}.json"] = json_file(drill)
    for drill_id, kind, target, report in drills.values_list("id", "kind", "target__name", "report_markdown"):
        if report:
            files[f"drills/{drill_id}-{kind}-{target}.md"] = report.encode("utf-8")
    files["drills.json"] = json_file({"range": {"from": start, "to": end}, "drills": [
        {k: d[k] for k in ("id", "kind", "target__name", "status", "recovery_seconds", "objective_seconds",
                           "requested_at", "finished_at")} for d in summary]})
    backup_fields = [f.name for f in Backup._meta.concrete_fields if f.name not in ("target", "created_by")]
    files["backups.json"] = json_file({"range": {"from": start, "to": end}, "backups": rows(
        backups, *backup_fields, "target__name", "created_by__username")})
    return files
