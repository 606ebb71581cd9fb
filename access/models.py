"""Database access policies (governed), access snapshots (evidence), and the secrets inventory.

An `AccessPolicy` declares what one governed database (a DR backup target: its DSN is already named by
environment variable there) may grant; every review stores an `AccessSnapshot` with the catalog state, its
drift against the policy's revision of the time and what changed since the previous snapshot. A `Secret` is an
inventory entry: where a secret lives, who owns it, when it was last rotated — never its value.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from access import policy as policy_rules
from governance.audit_base import Audited
from governance.models import Service
from recovery.models import BackupTarget, EvidenceQuerySet

# A value pasted where a location belongs: a password in a DSN or a key=value secret.
_VALUE_RE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|(password|passwd|secret|token)\s*[=:]\s*\S", re.IGNORECASE)


class AccessPolicy(Audited):
    """The declared least-privilege policy of one governed database; `revision` grows with every change."""

    target = models.OneToOneField(BackupTarget, on_delete=models.PROTECT, related_name="access_policy")
    document = models.JSONField(help_text="The policy (docs/SECURITY.md § Database access review); YAML or JSON.")
    revision = models.PositiveIntegerField(default=1, editable=False)
    enabled = models.BooleanField(default=True, help_text="Scheduled reviews run for enabled policies.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["target__name"]
        verbose_name_plural = "access policies"

    def __str__(self) -> str:
        return f"access policy of {self.target_id and self.target.name} (r{self.revision})"

    def clean(self) -> None:
        found = policy_rules.problems(self.document)
        if found:
            raise ValidationError({"document": found})

    def audit_service_id(self) -> int | None:
        return self.target.service_id if self.target_id else None


class AccessSnapshot(models.Model):
    """One review of a database: what the catalog said, how it drifts from the policy, what changed since."""

    class Status(models.TextChoices):
        CLEAN = "clean"
        DRIFT = "drift"
        FAILED = "failed"

    target = models.ForeignKey(BackupTarget, on_delete=models.PROTECT, related_name="access_snapshots")
    policy_revision = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    snapshot = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, blank=True, help_text="sha256 of the canonical snapshot JSON.")
    drift = models.JSONField(default=list, blank=True)
    changes = models.JSONField(default=list, blank=True, help_text="Differences from the previous snapshot.")
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)
    alerted = models.BooleanField(default=False)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"{self.target.name} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.status})"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Evidence records are kept: they are never deleted.")


class Secret(Audited):
    """A secret a service depends on: its name, home, owner and rotation deadline (never its value)."""

    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="secrets",
        help_text="Empty: a secret of the portal itself.",
    )
    name = models.CharField(max_length=200, help_text="What the secret is called where it is used (e.g. SECRET_KEY).")
    location = models.CharField(max_length=500, help_text="Where it lives (a secret store path, an environment "
                                "variable on which hosts) — never the value.")
    owner = models.CharField(max_length=200, help_text="Team or person who rotates it.")
    last_rotated_at = models.DateTimeField()
    max_age_days = models.PositiveIntegerField(help_text="Rotate at least this often.")
    runbook_url = models.CharField(max_length=500, help_text="How to rotate it (a URL or a docs/ path with § section).")
    notes = models.TextField(blank=True)
    overdue_alerted_for = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="The last_rotated_at whose overdue period was alerted (one alert per overdue period).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], nulls_distinct=False, name="secret_unique_name"),
            models.CheckConstraint(condition=models.Q(max_age_days__gt=0), name="secret_max_age_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service.slug if self.service is not None else 'portal'}: {self.name}"

    def clean(self) -> None:
        for field in ("location", "notes", "runbook_url", "name"):
            if _VALUE_RE.search(getattr(self, field) or ""):
                raise ValidationError({field: "This looks like a secret value: the inventory records where a "
                                              "secret lives, never the secret."})

    @property
    def due_at(self) -> datetime:
        return self.last_rotated_at + timedelta(days=self.max_age_days)

    def is_overdue(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) > self.due_at


class SecretRotation(models.Model):
    """A recorded rotation (evidence): when, by whom, why, and the previous rotation it replaced."""

    secret = models.ForeignKey(Secret, on_delete=models.PROTECT, related_name="rotations")
    rotated_at = models.DateTimeField()
    previous_rotated_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-rotated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.secret} rotated {self.rotated_at:%Y-%m-%d}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Evidence records are kept: they are never deleted.")

    def audit_service_id(self) -> int | None:
        return self.secret.service_id
