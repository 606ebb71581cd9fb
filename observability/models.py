"""SLOs, SLI points, snapshots, alerts, notification channels and error-budget overrides."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.audit_base import Audited
from governance.models import SLUG, Environment, Service
from observability import slo_math

ENV_VAR_NAME = RegexValidator(r"^[A-Z_][A-Z0-9_]{0,99}$", "An environment variable name: A-Z, 0-9 and _.")
MAX_WINDOW_MINUTES = 60 * 24 * 90


class Slo(Audited):
    """One SLO of one service in one environment; `definition()` is its pure `SloDefinition`."""

    class SliType(models.TextChoices):
        REQUEST_SUCCESS = slo_math.SliType.REQUEST_SUCCESS.value, "request success ratio"
        LATENCY = slo_math.SliType.LATENCY.value, "latency threshold"
        AVAILABILITY = slo_math.SliType.AVAILABILITY.value, "availability (one-minute slices)"
        DATABASE_ERRORS = slo_math.SliType.DATABASE_ERRORS.value, "database error ratio"

    class Source(models.TextChoices):
        POINTS = "points", "SLI points (POST /api/v1/sli, the portal's middleware)"
        PROMETHEUS = "prometheus", "Prometheus (PromQL for good and total)"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="slos")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="slos")
    name = models.CharField(max_length=63, validators=[SLUG])
    display_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True, max_length=1050)
    sli_type = models.CharField(max_length=20, choices=SliType.choices)
    objective = models.DecimalField(
        max_digits=10, decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001")), MaxValueValidator(Decimal("0.99999999"))],
        help_text="Target share of good events, e.g. 0.999.",
    )
    window_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_MINUTES)], help_text="Rolling window in minutes."
    )
    min_events = models.PositiveIntegerField(default=0, help_text="Below this many events: insufficient data.")
    threshold_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Latency SLOs only.")
    slice_error_threshold = models.DecimalField(
        max_digits=6, decimal_places=5, null=True, blank=True,
        help_text="Availability SLOs only: a one-minute slice is good when its error ratio is below this.",
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.POINTS)
    prometheus_good_query = models.TextField(
        blank=True, help_text="PromQL for good events over '{window}', e.g. sum(increase(x{code!~\"5..\"}[{window}]))."
    )
    prometheus_total_query = models.TextField(blank=True, help_text="PromQL for all events over '{window}'.")
    exclude_maintenance = models.BooleanField(
        default=False, db_default=False,
        help_text="Leave out the minutes of maintenance windows declared beforehand (status page scheduled "
                  "maintenance of this service, announced before it started). Off by default; SLI-point SLOs only.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "SLO"
        ordering = ["service__slug", "environment__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "environment", "name"], name="slo_unique_per_service_env"),
            models.CheckConstraint(condition=Q(objective__gt=0, objective__lt=1), name="slo_objective_open_unit"),
            models.CheckConstraint(
                condition=Q(sli_type="latency", threshold_ms__isnull=False) | (~Q(sli_type="latency") & Q(threshold_ms__isnull=True)),
                name="slo_threshold_only_for_latency",
            ),
            models.CheckConstraint(
                condition=Q(sli_type="availability", slice_error_threshold__isnull=False)
                | (~Q(sli_type="availability") & Q(slice_error_threshold__isnull=True)),
                name="slo_slice_threshold_only_for_availability",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id and self.service.slug}/{self.environment_id and self.environment.slug}: {self.name}"

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def clean(self) -> None:
        """The maths' own rules (SloDefinition) and the source's, so admin forms show them on the field."""
        from django.conf import settings

        if self.service_id is None or self.environment_id is None or self.objective is None \
                or not 1 <= (self.window_minutes or 0) <= MAX_WINDOW_MINUTES:
            return  # reported by field validation (Django calls clean() even then; 2**63 minutes overflow timedelta)
        try:
            self.definition()
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field if field in {f.name for f in self._meta.fields} else NON_FIELD_ERRORS:
                                   message or str(exc)}) from None
        if self.window > timedelta(days=settings.SLI_RETENTION_DAYS):
            raise ValidationError({"window_minutes": f"SLI points are kept {settings.SLI_RETENTION_DAYS} days "
                                                     "(SLI_RETENTION_DAYS); the window cannot be longer."})
        if self.source == self.Source.PROMETHEUS:
            if self.sli_type == self.SliType.AVAILABILITY:
                raise ValidationError({"source": "Availability counts one-minute slices, which Prometheus "
                                                 "good/total queries cannot express; use SLI points."})
            for name in ("prometheus_good_query", "prometheus_total_query"):
                if "{window}" not in getattr(self, name):
                    raise ValidationError({name: "Give the PromQL with {window} where the range goes, e.g. "
                                                 "sum(increase(http_requests_total[{window}]))."})

    def definition(self) -> slo_math.SloDefinition:
        """The pure definition the maths runs on (raises ValueError for an inconsistent row)."""
        return slo_math.SloDefinition(
            name=self.name,
            sli_type=slo_math.SliType(self.sli_type),
            objective=Decimal(self.objective).normalize(),
            window=self.window,
            min_events=self.min_events,
            environment=self.environment.slug,
            service=self.service.slug,
            threshold_ms=self.threshold_ms,
            slice_error_threshold=None if self.slice_error_threshold is None
            else Decimal(self.slice_error_threshold).normalize(),
            display_name=self.display_name,
            description=self.description,
            exclude_maintenance=self.exclude_maintenance,
        )


class SliPoint(models.Model):
    """Per-minute aggregates from one source: telemetry, upserted in bulk, deliberately not Audited.

    One row per (service, environment, minute, source); a retry replaces the row, so a minute never
    counts twice. Latency buckets are two aligned arrays: ascending upper bounds (ms) and cumulative
    `le` counts, so SQL finds a threshold's good count with `width_bucket`.
    """

    # No index of its own: the unique (service, environment, minute, source) index leads with it, and
    # scans through that one come out ordered by minute (the availability SLI groups by minute).
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    source = models.CharField(max_length=100, default="default")
    total = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    latency_bounds = ArrayField(models.FloatField(), default=list, blank=True)
    latency_counts = ArrayField(models.BigIntegerField(), default=list, blank=True)
    db_queries = models.BigIntegerField(default=0)
    db_errors = models.BigIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    # Tagged by the chaos app for minutes when a fault was in force on this target (docs/CHAOS.md): budget
    # reports show that burn apart. Set after ingestion (chaos.queries.tag_sli_points), never by sources.
    chaos = models.BooleanField(db_default=False, editable=False)

    class Meta:
        verbose_name = "SLI point"
        constraints = [
            # Column order serves both the upsert's conflict target and the checker's range scans.
            models.UniqueConstraint(fields=["service", "environment", "minute", "source"], name="sli_point_per_minute"),
            models.CheckConstraint(condition=Q(errors__lte=models.F("total"), errors__gte=0), name="sli_errors_le_total"),
            models.CheckConstraint(condition=Q(db_errors__lte=models.F("db_queries"), db_errors__gte=0),
                                   name="sli_db_errors_le_queries"),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.source}: {self.errors}/{self.total}"


class SloCheckRun(models.Model):
    """One run of the checker (hourly, nightly) or of a deployment snapshot; the staleness check reads these."""

    class Kind(models.TextChoices):
        HOURLY = "hourly"
        NIGHTLY = "nightly"
        MANUAL = "manual"

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"
        SKIPPED = "skipped", "skipped (another check held the lock)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    slo_count = models.PositiveIntegerField(default=0)
    alerts_opened = models.PositiveIntegerField(default=0)
    alerts_resolved = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True)

    class Meta:
        verbose_name = "SLO check run"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class SloSnapshot(models.Model):
    """An SLO's budget and burn rates at one moment: a record (append-only), self-contained.

    The objective and window are copied so a later edit of the SLO does not change what was seen;
    good/total keep the exact figures (the float columns are for display and sorting).
    """

    class Kind(models.TextChoices):
        HOURLY = "hourly"
        NIGHTLY = "nightly"
        MANUAL = "manual"
        DEPLOY_BEFORE = "deploy_before", "before a deployment"
        DEPLOY_AFTER = "deploy_after", "after a deployment"

    slo = models.ForeignKey(Slo, on_delete=models.CASCADE, related_name="snapshots")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    taken_at = models.DateTimeField(default=timezone.now)
    window_end = models.DateTimeField()
    check_run = models.ForeignKey(SloCheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An integer, not a foreign key: the releases app owns deployments and may not be installed first.
    deployment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    objective = models.DecimalField(max_digits=10, decimal_places=8)
    window_minutes = models.PositiveIntegerField()
    good = models.BigIntegerField()
    total = models.BigIntegerField()
    verdict = models.CharField(max_length=20, choices=[(v.value, v.value.replace("_", " ")) for v in slo_math.Verdict])
    compliance = models.FloatField(null=True, blank=True)
    budget_remaining = models.FloatField(help_text="Events of budget left (negative: overspent).")
    budget_remaining_fraction = models.FloatField(null=True, blank=True)
    burn_rates = models.JSONField(default=list, help_text="[{long, short, factor, long_rate, short_rate, action, firing}]")
    error = models.TextField(blank=True, help_text="Why no figures could be taken (e.g. Prometheus unreachable).")

    class Meta:
        verbose_name = "SLO snapshot"
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["slo", "-taken_at"])]
        constraints = [
            models.UniqueConstraint(fields=["slo", "deployment_id", "kind"], condition=Q(deployment_id__isnull=False),
                                    name="one_snapshot_per_deployment_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.slo_id} {self.kind} {self.taken_at:%Y-%m-%d %H:%M} {self.verdict}"


class SloAlert(Audited):
    """A firing burn-rate pair of one SLO, or a missed checker run; one open row per `dedupe_key`."""

    class Kind(models.TextChoices):
        BURN_RATE = "burn_rate", "burn rate"
        MISSED_RUN = "missed_run", "missed checker run"

    class Severity(models.TextChoices):
        CRITICAL = "critical"
        WARNING = "warning"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=100, editable=False)
    slo = models.ForeignKey(Slo, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    action = models.CharField(max_length=10, blank=True, help_text="page or ticket")
    long_window = models.DurationField(null=True, blank=True)
    short_window = models.DurationField(null=True, blank=True)
    factor = models.FloatField(null=True, blank=True)
    long_burn_rate = models.FloatField(null=True, blank=True)
    short_burn_rate = models.FloatField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "SLO alert"
        ordering = ["resolved_at", "-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(resolved_at__isnull=True),
                                    name="one_open_alert_per_key"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class NotificationChannel(Audited):
    """Where alerts go. The secret is never stored: `secret_env` names the environment variable holding it."""

    class Kind(models.TextChoices):
        SLACK = "slack", "Slack-compatible webhook"
        WEBHOOK = "webhook", "signed webhook"
        PAGERDUTY = "pagerduty", "PagerDuty (Events API v2)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField(max_length=500)
    secret_env = models.CharField(max_length=100, blank=True, validators=[ENV_VAR_NAME],
                                  help_text="Name of the environment variable with the signing secret (webhooks).")
    severities = ArrayField(models.CharField(max_length=10, choices=[("info", "info"), ("warning", "warning"),
                                                                      ("critical", "critical")]),
                            default=list, help_text="Severities routed here, e.g. critical, warning.")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="Empty: alerts of every service.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="webhook") | ~Q(secret_env=""), name="webhook_needs_secret_env"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.WEBHOOK and not self.secret_env:
            raise ValidationError({"secret_env": "A signed webhook needs the name of the environment variable "
                                                 "holding its secret (the secret itself is never stored)."})
        if self.kind == self.Kind.PAGERDUTY and not self.secret_env:
            raise ValidationError({"secret_env": "A PagerDuty channel needs the name of the environment variable "
                                                 "holding its integration (routing) key."})
        if not self.severities:
            raise ValidationError({"severities": "Route at least one severity (critical, warning or info)."})


class NotificationDelivery(models.Model):
    """The outcome of sending one alert message to one channel (a record for operators, not Audited).

    Every alert of the portal is recorded here (governance.notifications): SLO alerts link their `alert`;
    DR, release, chaos and incident messages name their `source`."""

    alert = models.ForeignKey(SloAlert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    source = models.CharField(max_length=100, db_default="", blank=True,
                              help_text="Who raised it, e.g. governance-portal/recovery")
    severity = models.CharField(max_length=10, db_default="", blank=True)
    title = models.CharField(max_length=300, db_default="", blank=True)
    channel = models.ForeignKey(NotificationChannel, null=True, on_delete=models.SET_NULL, related_name="+")
    channel_name = models.CharField(max_length=100)
    event = models.CharField(max_length=10, help_text="opened or resolved")
    sent_at = models.DateTimeField(default=timezone.now)
    delivered = models.BooleanField()
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "notification deliveries"
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.channel_name} {self.event} {'ok' if self.delivered else 'failed'}"


class ErrorBudgetOverride(Audited):
    """A release manager's decision to let releases pass the error-budget gate while the budget is exhausted.

    Scoped to one release (`release_id`) or to every release of the service when empty; always expires.
    """

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    # An integer, not a foreign key: the releases app owns releases (see SloSnapshot.deployment_id).
    release_id = models.BigIntegerField(null=True, blank=True, help_text="Empty: every release of the service.")
    justification = models.TextField(max_length=1000)
    granted_by = models.CharField(max_length=150, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="override_expires_after_creation"),
        ]

    def __str__(self) -> str:
        scope = f"release {self.release_id}" if self.release_id else "every release"
        return f"{self.service_id and self.service.slug}: {scope} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now
