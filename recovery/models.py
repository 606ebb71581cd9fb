"""Backup targets (governed configuration), backups and drills (evidence records).

A `BackupTarget` is governed state: edited through services, with history. `Backup` and `Drill`
are evidence: written only by `recovery.services`, never deleted (retention marks a backup's files
as deleted and keeps the row), and a finished drill is never changed again.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from governance import sql_rules
from governance.audit_base import Audited
from governance.models import SLUG, Service

ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class Objective(models.TextChoices):
    CRITICAL = "critical", "critical (RTO 15 min)"
    FULL = "full", "full (RTO 4 h)"


class BackupTarget(Audited):
    """A database the portal backs up every night and restores in drills."""

    name = models.SlugField(max_length=63, unique=True, validators=[SLUG])
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="backup_targets",
        help_text="The governed service whose database this is; empty for the portal's own database.",
    )
    dsn_env = models.CharField(
        "DSN environment variable", max_length=100, blank=True,
        help_text="NAME of the environment variable that holds the database's DSN (never the DSN itself). "
        "Empty: the portal's own database.",
    )
    directory = models.CharField(max_length=500, help_text="Absolute directory the dumps and manifests go to.")
    keep_daily = models.PositiveSmallIntegerField(default=7, help_text="Newest backup of this many recent days.")
    keep_monthly = models.PositiveSmallIntegerField(default=12, help_text="Newest backup of this many recent months.")
    smoke_queries = models.JSONField(
        default=list, blank=True,
        help_text='Application invariants checked on the restored copy: [{"name": "…", "sql": "SELECT …"}]; '
        "each must be one read-only SELECT returning true or non-zero (it runs as a read-only role).",
    )
    objective = models.CharField(max_length=10, choices=Objective.choices, default=Objective.CRITICAL)
    enabled = models.BooleanField(default=True, help_text="Scheduled backups and drills run for enabled targets.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(keep_daily__gt=0) | models.Q(keep_monthly__gt=0), name="backuptarget_keeps_some"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.dsn_env and not ENV_NAME_RE.match(self.dsn_env):
            errors["dsn_env"] = ("Give the NAME of an environment variable (e.g. SHOP_BACKUP_DSN), not a DSN: "
                                 "upper-case letters, digits and underscores.")
        if self.directory and not self.directory.startswith("/"):
            errors["directory"] = "Use an absolute path."
        problem = smoke_query_problem(self.smoke_queries)
        if problem:
            errors["smoke_queries"] = problem
        if errors:
            raise ValidationError(errors)

    @property
    def database_label(self) -> str:
        return f"${self.dsn_env}" if self.dsn_env else "portal database"


def smoke_query_problem(value: Any) -> str:
    """Why a smoke-query list is malformed, or ''."""
    if not isinstance(value, list):
        return 'Give a JSON list of {"name": …, "sql": …} objects.'
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"name", "sql"}:
            return f'Item {i + 1} must be an object with exactly "name" and "sql".'
        if not all(isinstance(item[k], str) and item[k].strip() for k in ("name", "sql")):
            return f'Item {i + 1}: "name" and "sql" must be non-empty strings.'
        try:
            sql_rules.check_select(item["sql"])
        except sql_rules.SqlRefused as exc:
            return f'Item {i + 1} ({item["name"][:100]}): {exc}'
    return ""


class EvidenceQuerySet(models.QuerySet):
    def delete(self) -> NoReturn:  # refusing is the point
        raise ValidationError("Evidence records are kept: they are never deleted.")


class Backup(models.Model):
    """One backup run of a target: the file, its digest and manifest, or the error that stopped it."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    target = models.ForeignKey(BackupTarget, on_delete=models.PROTECT, related_name="backups")
    status = models.CharField(max_length=10, choices=Status.choices)
    path = models.CharField(max_length=1000, blank=True)
    manifest_path = models.CharField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    tables = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    manifest = models.JSONField(default=dict, blank=True)
    phases = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="The snapshot instant of the backup (when it was taken)."
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When retention deleted the files.")
    deleted_reason = models.TextField(blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="succeeded") | (~models.Q(path="") & ~models.Q(sha256="")),
                name="backup_succeeded_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target.name} @ {self.created_at:%Y-%m-%d %H:%M:%S} ({self.status})"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Evidence records are kept: they are never deleted.")

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Drill(models.Model):
    """One restore or PITR drill: request, run, verdicts, timings and the report. Never deleted."""

    class Kind(models.TextChoices):
        RESTORE = "restore"
        PITR = "pitr"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"

    FINISHED = (Status.PASSED, Status.FAILED)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    target = models.ForeignKey(BackupTarget, on_delete=models.PROTECT, related_name="drills")
    backup = models.ForeignKey(Backup, null=True, blank=True, on_delete=models.PROTECT, related_name="drills")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    verdicts = models.JSONField(default=list, blank=True, help_text="[{layer, status, summary, problems, seconds}]")
    phases = models.JSONField(default=list, blank=True, help_text="[{name, seconds, started_at}]")
    evidence = models.JSONField(default=dict, blank=True, help_text="Everything the engine returned.")
    objective = models.CharField(max_length=10, choices=Objective.choices, default=Objective.CRITICAL)
    objective_seconds = models.FloatField(default=0, help_text="The recovery time objective the drill is held to.")
    recovery_seconds = models.FloatField(null=True, blank=True)
    total_seconds = models.FloatField(null=True, blank=True)
    achieved_rpo_seconds = models.FloatField(null=True, blank=True, help_text="PITR drills only.")
    error = models.TextField(blank=True, help_text="Why the drill could not run (engine error, lock held, …).")
    report_markdown = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["target", "kind", "status", "-finished_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status__in=["passed", "failed"]) | models.Q(finished_at__isnull=False),
                name="drill_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"drill #{self.pk}: {self.scope} ({self.status})"

    @property
    def scope(self) -> str:
        """What the drill exercises, in words: a PITR drill never touches the target's database or archive."""
        if self.kind == self.Kind.PITR:
            return f"PITR mechanism self-test in throwaway clusters (not {self.target.name}'s backups or WAL)"
        backup = f" backup #{self.backup_id}" if self.backup_id else " newest backup"
        return f"restore of {self.target.name}'s{backup}"

    @property
    def proves(self) -> str:
        """What a pass shows, so no screen reads a self-test as evidence about the target."""
        if self.kind == self.Kind.PITR:
            return ("that this portal's base backup + WAL replay to a target time works, on a database the drill "
                    "creates and throws away; it says nothing about "
                    f"{self.target.name}'s own backups or WAL archive")
        return (f"that {self.target.name}'s backup restores into a fresh cluster and passes the verification layers "
                "(within the recovery time objective)")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Evidence records are kept: they are never deleted.")

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def failing_verdicts(self) -> list[dict[str, Any]]:
        return [v for v in self.verdicts if v.get("status") == "fail"]
