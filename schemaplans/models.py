"""Schema plans (expand → backfill → verify → contract), their verification runs, and backfills."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from govctl.migration_lint.annotations import PLAN_ID

from governance import sql_rules
from governance.audit_base import Audited
from governance.models import Service
from schemaplans.databases import typed_sql_problem, validate_database_name

PLAN_SLUG = RegexValidator(
    f"^{PLAN_ID.pattern}$",
    "Use letters, digits and . _ : - (at most 100), as in `-- emc: contract plan=<id>`.",
)
SQL_NAME = RegexValidator(
    r"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$",
    "A table name, optionally schema-qualified (orders or shop.orders); no quotes.",
)
COLUMN_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$", "A column name; no quotes.")


class SchemaPlan(Audited):
    """One expand/migrate/contract change of a service's schema, and the proof that the contract step is safe."""

    class Status(models.TextChoices):
        PLANNED = "planned"
        EXPANDED = "expanded"
        BACKFILLING = "backfilling"
        BACKFILLED = "backfilled"
        VERIFYING = "verifying"
        VERIFIED = "verified"
        CONTRACTED = "contracted"

    slug = models.CharField(
        "id", max_length=100, unique=True, validators=[PLAN_SLUG],
        help_text="Named by the contract migration: `-- emc: contract plan=<id>` or `emc_plan = \"<id>\"`.",
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="schema_plans")
    description = models.TextField(blank=True, help_text="What changes and why.")
    table = models.CharField(max_length=127, validators=[SQL_NAME])
    columns = ArrayField(models.CharField(max_length=63, validators=[COLUMN_NAME]), default=list, blank=True)
    expand_migration = models.CharField(max_length=200, blank=True, help_text="e.g. shop.0042_order_status_code")
    contract_migration = models.CharField(max_length=200, blank=True, help_text="e.g. shop.0045_drop_order_status")
    expand_release_version = models.CharField(
        max_length=100, blank=True,
        help_text="Version of the release that shipped the expand step; older releases cannot run once contracted.",
    )
    verification_sql = models.TextField(
        blank=True,
        help_text="One read-only SELECT returning one number: the rows that still differ "
                  "(e.g. SELECT count(*) FROM orders WHERE status_code IS DISTINCT FROM legacy_code(status)). "
                  "Runs in a read-only transaction as a role that may only read.",
    )
    database = models.CharField(
        max_length=100, default="default", validators=[validate_database_name],
        help_text="`default` (the portal's own database) or the NAME of an environment variable holding the "
                  "service's DSN (e.g. SHOP_DATABASE_URL); never the DSN itself.",
    )
    required_zero_runs = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)],
        help_text="Consecutive runs that must find zero mismatches.",
    )
    verification_window = models.DurationField(
        default=timedelta(hours=24), help_text="The zero runs must span at least this long."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED, editable=False)
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service__slug", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(required_zero_runs__gte=1), name="plan_needs_a_zero_run"),
            models.CheckConstraint(condition=models.Q(verification_window__gte=timedelta(0)),
                                   name="plan_window_not_negative"),
        ]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        if self.verification_sql.strip():
            problem = typed_sql_problem(sql_rules.VERIFICATION, self.verification_sql, database=self.database,
                                        table=self.table)
            if problem:
                raise ValidationError({"verification_sql": problem})


class VerificationRun(models.Model):
    """One run of a plan's verification query: evidence, written once by the verification job, never edited."""

    plan = models.ForeignKey(SchemaPlan, on_delete=models.CASCADE, related_name="verification_runs")
    ran_at = models.DateTimeField(default=timezone.now)
    mismatches = models.BigIntegerField(null=True, help_text="Rows that differ; empty when the query failed.")
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    zero_streak = models.PositiveIntegerField(default=0, help_text="Consecutive zero runs, this one included.")
    streak_started_at = models.DateTimeField(null=True, help_text="When the current run of zeros began.")

    class Meta:
        ordering = ["-ran_at", "-id"]
        indexes = [models.Index(fields=["plan", "-ran_at"])]

    def __str__(self) -> str:
        outcome = f"{self.mismatches} mismatches" if self.mismatches is not None else "failed"
        return f"{self.plan} @ {self.ran_at:%Y-%m-%d %H:%M}: {outcome}"


class Backfill(Audited):
    """A chunked, resumable, throttled data migration over a table's integer primary key."""

    class Status(models.TextChoices):
        PENDING = "pending"
        AWAITING_APPROVAL = "awaiting_approval"
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    name = models.CharField(max_length=200)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="backfills",
                                help_text="Empty for the portal's own data.")
    plan = models.ForeignKey(SchemaPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="backfills")
    database = models.CharField(
        max_length=100, default="default", validators=[validate_database_name],
        help_text="`default` or the NAME of an environment variable holding the target DSN; never the DSN.",
    )
    table = models.CharField(max_length=127, validators=[SQL_NAME])
    key_column = models.CharField(max_length=63, default="id", validators=[COLUMN_NAME],
                                  help_text="An integer, unique, indexed column (the primary key).")
    sql = models.TextField(
        blank=True,
        help_text="One UPDATE of this table for the key range [%(lo)s, %(hi)s), e.g. UPDATE orders SET code = "
                  "status WHERE id >= %(lo)s AND id < %(hi)s. Write a literal % as %%. It runs as a role that may "
                  "only update this table; never on the portal's own tables (use a callable).",
    )
    callable_path = models.CharField(
        max_length=200, blank=True,
        help_text="Instead of SQL: dotted path to a function decorated with @schemaplans.engine.backfill_callable, "
                  "called as f(conn, lo, hi) -> rows changed.",
    )
    sql_is_idempotent = models.BooleanField(
        default=False, help_text="Running a batch twice gives the same result. Required outside the portal's "
                                 "database, where a batch may run again after a crash (at-least-once).",
    )
    target_batch_ms = models.PositiveIntegerField(default=200, validators=[MinValueValidator(1)])
    initial_batch_size = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(1)])
    min_batch_size = models.PositiveIntegerField(default=100, validators=[MinValueValidator(1)])
    max_batch_size = models.PositiveIntegerField(
        default=10000, validators=[MinValueValidator(1)],
        help_text="Keeps the share of rows locked at any moment small (random writes to them wait for the batch).",
    )
    lock_timeout_ms = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(1)])
    statement_timeout_ms = models.PositiveIntegerField(
        default=225, validators=[MinValueValidator(1)],
        help_text="A batch statement still running after this is cancelled, rolled back and halved: it bounds how "
                  "long a batch holds its row locks. Keep it above the target (the commit adds a few ms).",
    )
    rest_ratio = models.FloatField(
        default=0.3, validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="After each batch, wait this fraction of its duration: room for the application's own writes "
                  "(and for replicas and the WAL writer) at the cost of throughput. 0 runs flat out.",
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="Tries per batch before it is halved."
    )
    max_transaction_age_s = models.PositiveIntegerField(
        default=300, help_text="Wait while another transaction on the target has been open longer than this."
    )
    max_replication_lag_s = models.PositiveIntegerField(
        default=30, help_text="Wait while a replica lags more than this."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, editable=False)
    status_reason = models.TextField(blank=True, editable=False, help_text="Why it is paused or cancelled.")
    start_requested_by = models.ForeignKey(  # no index: a few rows, never looked up by it
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False,
        db_index=False, help_text="Who asked to start it while it awaits a second person's approval.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(sql="") & ~models.Q(callable_path=""))
                | (~models.Q(sql="") & models.Q(callable_path="")),
                name="backfill_sql_xor_callable",
            ),
            models.CheckConstraint(condition=models.Q(min_batch_size__lte=models.F("max_batch_size")),
                                   name="backfill_batch_bounds"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if bool(self.sql.strip()) == bool(self.callable_path.strip()):
            errors["sql"] = "Give either the SQL of one batch or a callable's dotted path (not both)."
        elif self.sql.strip():
            problem = typed_sql_problem(sql_rules.BACKFILL, self.sql, database=self.database, table=self.table,
                                        key_column=self.key_column)
            if problem:
                errors["sql"] = problem
        else:
            from schemaplans.engine import load_callable

            try:
                load_callable(self.callable_path)
            except ValueError as exc:
                errors["callable_path"] = str(exc)
        if self.database != "default" and not self.sql_is_idempotent:
            errors["sql_is_idempotent"] = (
                "Outside the portal's database a batch can run again after a crash (at-least-once): make the batch "
                "idempotent (e.g. WHERE new IS DISTINCT FROM old) and tick this box."
            )
        if self.statement_timeout_ms <= self.target_batch_ms:
            errors["statement_timeout_ms"] = "The statement timeout must exceed the target batch duration."
        if self.min_batch_size > self.max_batch_size:
            errors["min_batch_size"] = "The minimum batch size cannot exceed the maximum."
        elif not self.min_batch_size <= self.initial_batch_size <= self.max_batch_size:
            errors["initial_batch_size"] = "Start between the minimum and the maximum batch size."
        if errors:
            raise ValidationError(errors)


class BackfillProgress(models.Model):
    """The engine's checkpoint, one row per backfill, rewritten after every batch (telemetry, not audited).

    On the portal's own database it is written in the batch's transaction: a batch and its checkpoint commit
    or vanish together, so every key is processed exactly once across crashes.
    """

    backfill = models.OneToOneField(Backfill, primary_key=True, on_delete=models.CASCADE, related_name="progress")
    lower_key = models.BigIntegerField(null=True, help_text="Smallest key when the backfill started.")
    upper_key = models.BigIntegerField(null=True, help_text="Exclusive bound captured at the start.")
    estimated_rows = models.BigIntegerField(null=True)
    next_key = models.BigIntegerField(null=True, help_text="Checkpoint: every key below it is done.")
    rows_done = models.BigIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=0)
    last_batch_ms = models.FloatField(default=0)
    max_batch_ms = models.FloatField(default=0)
    retries = models.PositiveIntegerField(default=0)
    splits = models.PositiveIntegerField(default=0)
    active_seconds = models.FloatField(default=0, help_text="Time spent running batches and waiting on throttles.")
    throttled_seconds = models.FloatField(default=0)
    throttle_reason = models.CharField(max_length=300, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"progress of backfill #{self.backfill_id}"

    @property
    def fraction(self) -> float | None:
        """Done share of the key range captured at the start (0..1), or None before the start."""
        if self.lower_key is None or self.upper_key is None:
            return None
        if self.upper_key <= self.lower_key:
            return 1.0
        done = (self.next_key if self.next_key is not None else self.lower_key) - self.lower_key
        return max(0.0, min(1.0, done / (self.upper_key - self.lower_key)))

    @property
    def rate(self) -> float | None:
        """Rows per second while running."""
        return self.rows_done / self.active_seconds if self.active_seconds > 0 and self.rows_done else None

    @property
    def eta_seconds(self) -> float | None:
        fraction = self.fraction
        if not fraction or fraction >= 1 or self.active_seconds <= 0:
            return 0.0 if fraction == 1.0 else None
        return self.active_seconds * (1 - fraction) / fraction
