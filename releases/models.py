"""Releases with their evidence, CI checks, gate policies, freezes, approvals, deployments and alerts."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from governance.audit_base import Audited
from governance.models import Environment, Service
from releases import recurrence

CHECK_NAME = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{0,62}$", "Check names are lowercase letters, digits, '.', '_' and '-' (e.g. security-scan)."
)
MAX_FREEZE_MINUTES = int(recurrence.MAX_DURATION.total_seconds() // 60)


class Release(Audited):
    """One version of a service with the evidence CI registered for it; its life is `releases.states`."""

    class State(models.TextChoices):
        REGISTERED = "registered"
        IN_PREVIEW = "in_preview", "in preview"
        AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"
        PROMOTING = "promoting"
        LIVE = "live"
        SUPERSEDED = "superseded"
        ROLLED_BACK = "rolled_back", "rolled back"
        FAILED = "failed"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=128)
    tag = models.CharField(max_length=200)
    build_sha = models.CharField(max_length=64)
    schema_hash = models.CharField(max_length=128, blank=True)
    pr_url = models.URLField(max_length=500, blank=True)
    author = models.CharField(max_length=200, blank=True, help_text="Who cut the release (login or email).")
    channel = models.CharField(max_length=40, blank=True)
    bump = models.CharField(max_length=10, blank=True, help_text="The change level the commits warrant.")
    commits = models.JSONField(default=list, blank=True, help_text="[{sha, message, author, time, pr_url}]")
    changelog = models.TextField(blank=True)
    artifacts = models.JSONField(default=dict, blank=True, help_text="Environment matrix, bundle report …")
    bump_policy = models.JSONField(default=dict, blank=True)
    evidence_digest = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of the evidence.")
    evidence_revision = models.PositiveIntegerField(default=1)
    first_commit_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REGISTERED)
    state_changed_at = models.DateTimeField(default=timezone.now)
    pr_comment_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="release_version_per_service"),
            models.UniqueConstraint(fields=["service", "tag"], name="release_tag_per_service"),
        ]
        indexes = [models.Index(fields=["service", "state"])]

    def __str__(self) -> str:
        return f"{self.service.slug} {self.version}"


class Check(Audited):
    """A CI check on a release (tests, migrations, security-scan, smoke …); re-reporting updates it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCESS = "success"
        FAILURE = "failure"
        NEUTRAL = "neutral"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="checks")
    name = models.CharField(max_length=63, validators=[CHECK_NAME])
    status = models.CharField(max_length=10, choices=Status.choices)
    url = models.URLField(max_length=500, blank=True)
    summary = models.TextField(blank=True)
    evidence_digest = models.CharField(max_length=64, help_text="The evidence the check was reported against.")
    reported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["release", "name"], name="check_name_per_release")]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"

    def audit_service_id(self) -> int:
        return self.release.service_id


class GatePolicy(Audited):
    """What the gate requires before a release of a service enters an environment."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="gate_policies")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="gate_policies")
    required_checks = ArrayField(models.CharField(max_length=63, validators=[CHECK_NAME]), default=list, blank=True)
    advisory_checks = ArrayField(
        models.CharField(max_length=63, validators=[CHECK_NAME]), default=list, blank=True,
        db_default=models.Value([], output_field=ArrayField(models.CharField(max_length=63))),
        help_text="Checks whose failure is shown but does not block. Any other reported check that fails blocks.",
    )
    min_soak_minutes = models.PositiveIntegerField(
        default=0, help_text="Minimum time deployed in the previous environment (by order) before entering this one."
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=0, help_text="Approvals by release managers who are neither the release's author nor a committer."
    )
    approval_ttl_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1)], help_text="Approvals expire after this many hours."
    )

    class Meta:
        verbose_name_plural = "gate policies"
        ordering = ["service__slug", "environment__order"]
        constraints = [
            models.UniqueConstraint(fields=["service", "environment"], name="gate_policy_per_service_environment"),
            models.CheckConstraint(condition=models.Q(approval_ttl_hours__gte=1), name="gate_policy_ttl_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service.slug} → {self.environment.slug}"

    def clean(self) -> None:
        both = sorted(set(self.required_checks) & set(self.advisory_checks))
        if both:
            raise ValidationError({"advisory_checks": f"a check cannot be both required and advisory: {', '.join(both)}"})


class RecurringFreeze(Audited):
    """A freeze that repeats (a cron start on a local clock, a duration); its occurrences become FreezeWindows."""

    title = models.CharField(max_length=200)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="recurring_freezes",
        help_text="Empty: every service.",
    )
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="recurring_freezes")
    cron = models.CharField(
        max_length=100, help_text="When each occurrence starts, as a 5-field cron expression on the time zone's "
                                  "clock: minute hour day-of-month month day-of-week (0 16 * * 5 = Fridays 16:00).",
    )
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Paris.")
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_FREEZE_MINUTES)],
        help_text="How long each occurrence lasts, counted on the local clock (Friday 16:00 to Monday 08:00 = "
                  "3840). At most 14 days, and shorter than the time to the next start.",
    )
    active = models.BooleanField(default=True, help_text="Inactive: no new windows; future ones are removed.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1, duration_minutes__lte=MAX_FREEZE_MINUTES),
                name="recurring_freeze_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def schedule(self) -> recurrence.Schedule:
        return recurrence.Schedule(cron=self.cron, zone=self.time_zone,
                                   duration=timedelta(minutes=self.duration_minutes))

    def clean(self) -> None:
        if self.cron:
            try:
                self.cron = recurrence.check_cron(self.cron)
            except recurrence.RecurrenceError as exc:
                raise ValidationError({"cron": exc.message}) from None
        if not self.cron or not self.time_zone or not 1 <= (self.duration_minutes or 0) <= MAX_FREEZE_MINUTES:
            return  # the field errors already say what is wrong
        try:
            recurrence.check(self.schedule, now=timezone.now())
        except recurrence.RecurrenceError as exc:
            raise ValidationError({exc.field: exc.message}) from None


class FreezeWindow(Audited):
    """No promotions into the environment between start and end (for one service, or all when blank)."""

    title = models.CharField(max_length=200)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="freeze_windows",
        help_text="Empty: every service.",
    )
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="freeze_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    recurrence = models.ForeignKey(
        # No index of its own: the unique (recurrence, starts_at) index serves lookups by rule.
        RecurringFreeze, null=True, blank=True, editable=False, db_index=False, on_delete=models.PROTECT,
        related_name="windows",
        help_text="The recurring freeze this window is an occurrence of (empty: a one-off window).",
    )
    # The status app's scheduled maintenance that declared it (an id, not a foreign key: releases does not
    # depend on status; governance.hooks.MAINTENANCE_FREEZE keeps it in line with the maintenance).
    maintenance_id = models.BigIntegerField(
        null=True, blank=True, editable=False,
        help_text="The scheduled maintenance this freeze came from (empty: declared here).")
    maintenance_reason = models.TextField(
        blank=True, default="", db_default="", editable=False,
        help_text="Why the maintenance was scheduled (its audit reason), shown with the freeze.")

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="freeze_ends_after_start"),
            models.UniqueConstraint(fields=["recurrence", "starts_at"], name="one_window_per_occurrence"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M} UTC)"


class FreezeOverride(Audited):
    """A release manager's recorded decision to let one release through one freeze window."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="freeze_overrides")
    window = models.ForeignKey(FreezeWindow, on_delete=models.PROTECT, related_name="overrides")
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["release", "window"], name="one_override_per_release_window")]

    def __str__(self) -> str:
        return f"{self.release} through {self.window.title}"

    def audit_service_id(self) -> int:
        return self.release.service_id


class Approval(Audited):
    """A release manager's sign-off on one evidence digest for one environment; it expires and can be voided."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="approvals")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    evidence_digest = models.CharField(max_length=64)
    comment = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "environment", "approver", "evidence_digest"],
                condition=models.Q(voided_at__isnull=True),
                name="one_standing_approval_per_approver",
            ),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                   name="approval_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"{self.release} approved by {self.approver} for {self.environment}"

    def audit_service_id(self) -> int:
        return self.release.service_id


class Deployment(Audited):
    """A release reaching an environment: recorded by CI, or a promotion/rollback run by a provider."""

    class Kind(models.TextChoices):
        DEPLOY = "deploy", "deploy (recorded by CI)"
        PROMOTION = "promotion"
        ROLLBACK = "rollback"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="deployments")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="deployments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    provider = models.CharField(max_length=20, help_text="record, webhook, vercel, or ci for recorded deployments")
    provider_ref = models.CharField(max_length=200, blank=True, help_text="The provider's deployment id.")
    url = models.URLField(max_length=500, blank=True)
    replaces = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The release that was live before (for a rollback: the one rolled back).",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    gate = models.JSONField(default=dict, blank=True, help_text="The gate decision when it started or was recorded.")
    details = models.JSONField(default=dict, blank=True, help_text="Provider responses and attempts.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database backs the service-level lock: one promotion or rollback at a time per target.
            models.UniqueConstraint(
                fields=["service", "environment"], condition=models.Q(status__in=["pending", "running"]),
                name="one_active_deployment_per_service_environment",
            ),
        ]
        indexes = [models.Index(fields=["service", "environment", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.release} to {self.environment.slug} ({self.status})"


class ReleaseAlert(models.Model):
    """A problem the scheduler found (e.g. a promotion stuck in `promoting`); one row per occurrence."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=40)
    since = models.DateTimeField(help_text="When the condition started (e.g. the release entered promoting).")
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["release", "kind", "since"], name="one_alert_per_occurrence")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.release}"


# GitHub's audit log and the branch-protection reviews (releases/github_audit.py, releases/branch_protection.py).
from releases.models_github import BranchProtectionReview, GitHubAuditCursor, GitHubAuditImport, GitHubAuditRecord  # noqa: E402,F401,I001
