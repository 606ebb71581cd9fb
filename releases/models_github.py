"""What the portal reads from GitHub: imported audit-log events, the import runs and their cursor, and the
branch-protection reviews. Rows only the import and review services write (read-only in the admin)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from governance.models import AuditEvent, Service


class GitHubAuditCursor(models.Model):
    """Where the next import of an organisation's audit log starts (the Link header's `after` cursor), and
    until when a rate limit asked the import to wait."""

    org = models.CharField(max_length=100, unique=True)
    cursor = models.CharField(max_length=500, blank=True)
    resume_after = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "GitHub audit-log cursor"

    def __str__(self) -> str:
        return f"{self.org}: {self.cursor or '(start)'}"


class GitHubAuditImport(models.Model):
    """One run of the audit-log import: counts, the cursors it started and ended at, and why it stopped."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        RATE_LIMITED = "rate_limited", "rate limited (resumes later)"
        FAILED = "failed"
        SKIPPED = "skipped"

    org = models.CharField(max_length=100)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_cursor = models.CharField(max_length=500, blank=True)
    ended_cursor = models.CharField(max_length=500, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0, help_text="Events GitHub returned.")
    imported = models.PositiveIntegerField(default=0, help_text="New events added to the audit trail.")
    duplicates = models.PositiveIntegerField(default=0, help_text="Events already imported (same _document_id).")
    ignored = models.PositiveIntegerField(default=0, help_text="Events of actions that do not matter for releases.")
    waited_seconds = models.FloatField(default=0, help_text="Time spent waiting on GitHub's rate limits.")
    resume_after = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "GitHub audit-log import"

    def __str__(self) -> str:
        return f"{self.org} import #{self.pk} ({self.status})"


class GitHubAuditRecord(models.Model):
    """One imported GitHub audit-log event, whole, and its row in the audit timeline. Unique by GitHub's
    `_document_id`: importing the same page twice adds nothing."""

    document_id = models.CharField(max_length=64, unique=True)
    org = models.CharField(max_length=100)
    action = models.CharField(max_length=100, db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    repo = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    run = models.ForeignKey(GitHubAuditImport, null=True, on_delete=models.SET_NULL, related_name="records")
    audit_event = models.OneToOneField(AuditEvent, null=True, on_delete=models.SET_NULL, related_name="+",
                                       db_constraint=False)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = "GitHub audit-log event"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or '?'} ({self.repo or self.org})"


class BranchProtectionReview(models.Model):
    """A snapshot of a service's default-branch protection compared with the gate policy."""

    class Result(models.TextChoices):
        MATCHES = "matches"
        MISMATCH = "mismatch"
        NOT_CHECKED = "not_checked", "not checked"
        ERROR = "error"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)
    repository = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    result = models.CharField(max_length=20, choices=Result.choices)
    expected = models.JSONField(default=dict)
    actual = models.JSONField(default=dict)
    differences = models.JSONField(default=list, help_text="[{rule, expected, actual, message}]")
    snapshot = models.JSONField(default=dict, help_text="What GitHub answered: protection and rules.")
    message = models.TextField(blank=True)
    alerted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [models.Index(fields=["service", "-reviewed_at"])]

    def __str__(self) -> str:
        return f"{self.service.slug} {self.branch or '?'}: {self.result}"
