"""Evidence-pack section "external-events": the GitHub audit-log events imported in the range, the import runs,
and the branch-protection reviews (governance.hooks.EVIDENCE_SECTIONS). Reads only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from governance.models import Service
from releases import github
from releases.models import BranchProtectionReview, GitHubAuditImport, GitHubAuditRecord


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def section(*, start: datetime, end: datetime, service: Service | None) -> dict[str, bytes]:
    records = GitHubAuditRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by(
        "occurred_at", "id")
    reviews = BranchProtectionReview.objects.filter(reviewed_at__gte=start, reviewed_at__lt=end).select_related(
        "service").order_by("reviewed_at", "id")
    if service is not None:
        parsed = github.parse_repo_url(service.repository_url)
        records = records.filter(repo__iexact=f"{parsed[0]}/{parsed[1]}") if parsed else records.none()
        reviews = reviews.filter(service=service)
    runs = GitHubAuditImport.objects.filter(started_at__gte=start, started_at__lt=end).order_by("started_at", "id")
    events = [{"document_id": r.document_id, "action": r.action, "actor": r.actor, "repo": r.repo, "org": r.org,
               "occurred_at": r.occurred_at.isoformat() if r.occurred_at else None,
               "audit_event_id": r.audit_event_id, "payload": r.payload} for r in records]
    review_rows = [{"service": r.service.slug, "reviewed_at": r.reviewed_at.isoformat(), "repository": r.repository,
                    "branch": r.branch, "result": r.result, "expected": r.expected, "actual": r.actual,
                    "differences": r.differences, "message": r.message} for r in reviews]
    run_rows = [{"id": r.pk, "org": r.org, "started_at": r.started_at.isoformat(), "status": r.status,
                 "imported": r.imported, "duplicates": r.duplicates, "ignored": r.ignored, "error": r.error}
                for r in runs]
    lines = [f"# External events {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC",
             "", f"- GitHub audit-log events imported: {len(events)} (each also in the audit export, source `github`)",
             f"- Import runs: {len(run_rows)}, failed: {sum(r['status'] == 'failed' for r in run_rows)}",
             f"- Branch-protection reviews: {len(review_rows)}, mismatches: "
             f"{sum(r['result'] == 'mismatch' for r in review_rows)}", ""]
    for row in review_rows:
        if row["result"] == "mismatch":
            lines.append(f"- {row['reviewed_at']} {row['service']} {row['repository']}@{row['branch']}: {row['message']}")
    return {"external-events/github-audit-log.json": _json(events),
            "external-events/github-imports.json": _json(run_rows),
            "external-events/branch-protection.json": _json(review_rows),
            "external-events/README.md": ("\n".join(lines) + "\n").encode("utf-8")}
