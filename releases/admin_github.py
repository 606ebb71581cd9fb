"""Admin pages of what the portal reads from GitHub: read-only (no add, change or delete for anyone)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from governance import formatting
from governance.admin_tools import ReadOnlyAdmin
from releases.models import BranchProtectionReview, GitHubAuditCursor, GitHubAuditImport, GitHubAuditRecord


@admin.register(GitHubAuditImport)
class GitHubAuditImportAdmin(ReadOnlyAdmin):
    list_display = ["started", "org", "status", "imported", "duplicates", "ignored", "pages", "error"]
    list_filter = ["status", "org"]
    readonly_fields = ["org", "started_at", "finished_at", "status", "started_cursor", "ended_cursor", "pages",
                       "fetched", "imported", "duplicates", "ignored", "waited_seconds", "resume_after", "error"]

    @admin.display(description="started", ordering="started_at")
    def started(self, run: GitHubAuditImport) -> str:
        return formatting.when(run.started_at, seconds=True)


@admin.register(GitHubAuditCursor)
class GitHubAuditCursorAdmin(ReadOnlyAdmin):
    list_display = ["org", "cursor", "resume_after", "updated_at"]


@admin.register(GitHubAuditRecord)
class GitHubAuditRecordAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "action", "actor", "repo", "audit_event_id"]
    list_filter = ["action"]
    search_fields = ["=document_id", "actor", "repo", "action"]
    readonly_fields = ("document_id", "org", "action", "actor", "repo", "occurred_at", "imported_at", "run",
                       "audit_event_id", "payload_shown")
    fields = readonly_fields

    @admin.display(description="payload (as GitHub sent it)")
    def payload_shown(self, record: GitHubAuditRecord) -> str:
        return format_html("<pre>{}</pre>", json.dumps(record.payload, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(BranchProtectionReview)
class BranchProtectionReviewAdmin(ReadOnlyAdmin):
    list_display = ["reviewed", "service", "repository", "branch", "result", "message"]
    list_filter = ["result", "service"]
    readonly_fields = ("service", "reviewed_at", "repository", "branch", "result", "message", "difference_table",
                       "expected", "actual", "snapshot", "alerted")
    fields = readonly_fields

    @admin.display(description="reviewed", ordering="reviewed_at")
    def reviewed(self, review: BranchProtectionReview) -> str:
        return formatting.when(review.reviewed_at)

    @admin.display(description="differences")
    def difference_table(self, review: BranchProtectionReview) -> str:
        if not review.differences:
            return "—"
        rows = [(d["rule"], json.dumps(d["expected"]), json.dumps(d["actual"]), d["message"])
                for d in review.differences]
        return format_html('<table class="diff"><tr><th>rule</th><th>expected</th><th>actual</th><th></th></tr>{}'
                           "</table>", format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                                                        rows))
