"""Chaos drills: experiments (governed definitions), faults (bounded, expiring), runs (evidence records).

`Experiment` and `ChaosPolicy` are governed configuration, edited through `chaos.services` with history.
`Fault` rows are never deleted: removal stamps `removed_at`/`removed_by`/`removal_reason`, and expiry is a
time, so what was injected, where and for how long stays on record. A `Run` is an evidence record like a
restore drill: its phases, probe values, verdict and Markdown report are written by the engine and never
changed after it finished. `RunLease` is the running worker's heartbeat (telemetry, not audited): the
watchdog ends a run whose lease ran out and removes its faults.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.audit_base import Audited, AuditedQuerySet
from governance.models import SLUG, Environment, Service


class FaultKind(models.TextChoices):
    DB_DOWN = "db_down", "database down"
    DB_LATENCY = "db_latency", "database latency"
    DB_ERRORS = "db_errors", "database errors"
    SLOW_QUERIES = "slow_queries", "slow queries"
    HTTP_ERRORS = "http_errors", "HTTP errors"
    HTTP_LATENCY = "http_latency", "HTTP latency"
    THROTTLE = "throttle", "throttling"


class RunStatus(models.TextChoices):
    """Chaos Toolkit's run statuses, plus `pending` before the worker picks the run up."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    DEVIATED = "deviated"


FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED, RunStatus.INTERRUPTED, RunStatus.DEVIATED)


class ChaosPolicy(Audited):
    """Whether drills may run in an environment. Without a row: allowed outside production, refused in it."""

    environment = models.OneToOneField(Environment, on_delete=models.PROTECT, related_name="chaos_policy")
    allow_chaos = models.BooleanField(
        default=False, help_text="Production also needs a second person's approval on every run.")

    class Meta:
        verbose_name = "chaos policy"
        verbose_name_plural = "chaos policies"

    def __str__(self) -> str:
        return f"{self.environment.slug}: chaos {'allowed' if self.allow_chaos else 'refused'}"


class Experiment(Audited):
    """A drill's definition, stored as Chaos Toolkit experiment JSON; each change is a new version."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="chaos_experiments")
    key = models.SlugField(max_length=63, validators=[SLUG])
    title = models.CharField(max_length=200)
    definition = models.JSONField(help_text="Chaos Toolkit experiment JSON (docs/CHAOS.md § Experiment format).")
    version = models.PositiveIntegerField(default=1, editable=False)
    builtin = models.BooleanField(default=False, editable=False, help_text="Shipped with the portal.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    schedule_cron = models.CharField(
        max_length=100, blank=True,
        help_text="Cron (UTC) for a recurring drill in preview; empty: on demand only.")

    class Meta:
        ordering = ["service__slug", "key"]
        constraints = [models.UniqueConstraint(fields=["service", "key"], name="chaos_experiment_key_per_service")]

    def __str__(self) -> str:
        return f"{self.service.slug}/{self.key} v{self.version}"


class Run(Audited):
    """One execution of an experiment: phases with timings and probe values, a verdict, a Markdown report."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="runs")
    experiment_version = models.PositiveIntegerField()
    definition = models.JSONField(help_text="The definition as it ran (the experiment may change later).")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.PENDING, editable=False)
    verdict = models.TextField(blank=True, editable=False)
    phases = models.JSONField(default=list, blank=True, editable=False)
    report_markdown = models.TextField(blank=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="chaos_run_status")]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.experiment.key} in {self.environment.slug}: {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def audit_service_id(self) -> int:
        return self.service_id


class RunLease(models.Model):
    """The worker executing a run renews this every few seconds (telemetry: not audited)."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="lease")
    worker = models.CharField(max_length=200)
    renewed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"run #{self.run_id} held by {self.worker} until {self.expires_at:%H:%M:%S}"


class FaultQuerySet(AuditedQuerySet):
    def active(self, now: Any = None) -> FaultQuerySet:
        return self.filter(removed_at__isnull=True, expires_at__gt=now or timezone.now())


class Fault(Audited):
    """An injected fault: what, where, how wide, until when; delivered in the service's flag snapshot."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="chaos_faults")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=FaultKind.choices)
    params = models.JSONField(default=dict, blank=True)
    scope = models.JSONField(default=dict, blank=True, help_text='{"share": 0..1, "paths": [prefix…], "header": …}')
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.PROTECT, related_name="faults")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", editable=False)
    removal_reason = models.TextField(blank=True, editable=False)

    objects = FaultQuerySet.as_manager()  # type: ignore[misc]  # Audited declares a ClassVar manager; ours adds .active()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["service", "environment", "expires_at"], name="chaos_fault_target",
                                condition=Q(removed_at__isnull=True))]
        constraints = [models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                              name="chaos_fault_expires_after_creation")]
        permissions = [("halt_chaos", "Can halt all chaos (remove every active fault)")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.service.slug}@{self.environment.slug} until {self.expires_at:%H:%M:%S}"

    def is_active(self, now: Any = None) -> bool:
        return self.removed_at is None and self.expires_at > (now or timezone.now())

    def snapshot_entry(self) -> dict[str, Any]:
        """The fault as delivered in a flag snapshot (docs/CHAOS.md)."""
        scope = self.scope or {}
        return {"id": str(self.pk), "kind": self.kind, "params": dict(self.params or {}),
                "scope": {"share": scope.get("share", 1.0), "paths": list(scope.get("paths") or []),
                          "header": scope.get("header")},
                "expires_at": self.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "run": self.run_id}
