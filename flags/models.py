"""Flags per service, their state per environment, segments, change requests and scheduled changes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from govctl.flags.flag_ops import MAINTENANCE

from governance.audit_base import Audited
from governance.models import Environment, Service

# UTF-8 keys are allowed; control characters, slashes and surrounding blanks are not (keys go into URLs).
FLAG_KEY = RegexValidator(r"^[^\s/\x00-\x1f\x7f](?:[^/\x00-\x1f\x7f]{0,198}[^\s/\x00-\x1f\x7f])?$",
                          "Use a key without slashes, control characters or surrounding spaces (max 200).")


class Kind(models.TextChoices):
    RELEASE = "release"
    EXPERIMENT = "experiment"
    OPERATIONAL = "operational"
    KILL_SWITCH = "kill_switch", "kill switch"
    PERMISSION = "permission"


class ValueType(models.TextChoices):
    BOOLEAN = "boolean"
    STRING = "string"
    NUMBER = "number"
    JSON = "json", "JSON"


class FailureMode(models.TextChoices):
    FAIL_CLOSED = "fail_closed", "fail closed (off)"
    FAIL_OPEN = "fail_open", "fail open (on)"
    LAST_KNOWN_GOOD = "last_known_good", "last known good"


class Flag(Audited):
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="flags")
    key = models.CharField(max_length=200, validators=[FLAG_KEY])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RELEASE)
    value_type = models.CharField(max_length=10, choices=ValueType.choices, default=ValueType.BOOLEAN)
    owner = models.CharField(max_length=200, blank=True, help_text="Team or person answerable for the flag.")
    description = models.TextField(blank=True)
    expected_lifetime_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days until the flag should be removed; empty = permanent."
    )
    failure_mode = models.CharField(max_length=20, choices=FailureMode.choices, default=FailureMode.LAST_KNOWN_GOOD,
                                    help_text="What SDKs answer when they have no snapshot at all.")
    min_value = models.FloatField(null=True, blank=True, help_text="Number flags: lowest allowed value.")
    max_value = models.FloatField(null=True, blank=True, help_text="Number flags: highest allowed value.")
    max_step = models.FloatField(null=True, blank=True, help_text="Number flags: largest change in one edit.")
    is_builtin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["service__slug", "key"]
        constraints = [
            models.UniqueConstraint(fields=["service", "key"], name="flag_key_per_service"),
            models.CheckConstraint(
                condition=models.Q(min_value__isnull=True) | models.Q(max_value__isnull=True)
                | models.Q(min_value__lte=models.F("max_value")),
                name="flag_bounds_ordered",
            ),
            models.CheckConstraint(condition=models.Q(max_step__isnull=True) | models.Q(max_step__gt=0),
                                   name="flag_max_step_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}/{self.key}" if self.service_id else self.key

    @property
    def is_permanent(self) -> bool:
        return self.expected_lifetime_days is None

    @property
    def is_inverted(self) -> bool:
        """On means *less* exposure (kill switches, maintenance mode)."""
        return self.kind == Kind.KILL_SWITCH


class FlagState(Audited):
    """A flag in one environment. `revision` comes from one global sequence: it grows on every change."""

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="states")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="flag_states")
    enabled = models.BooleanField(default=False)
    strategies = models.JSONField(default=list, blank=True,
                                  help_text="Ordered Unleash strategies: name, parameters, constraints, segments, variants.")
    variants = models.JSONField(default=list, blank=True, help_text="Feature variants (Unleash format).")
    dependencies = models.JSONField(default=list, blank=True,
                                    help_text='Parents: [{"feature": key, "enabled": true, "variants": [...]}].')
    number = models.FloatField(null=True, blank=True, help_text="Number flags: the value served.")
    revision = models.BigIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="Emergency toggle: when it reverts on its own.")
    revert_to = models.JSONField(null=True, blank=True, editable=False,
                                 help_text='What an expiry restores, e.g. {"enabled": false}.')
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["flag__service__slug", "flag__key", "environment__order"]
        constraints = [models.UniqueConstraint(fields=["flag", "environment"], name="flag_state_per_environment")]
        indexes = [models.Index(fields=["environment", "-revision"]), models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.flag} @ {self.environment.slug}"

    def audit_service_id(self) -> int:
        return self.flag.service_id


class Segment(Audited):
    """A named, reusable list of constraints that strategies reference by id (global, as in Unleash)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    constraints = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Operation(models.TextChoices):
    SET_ENABLED = "set_enabled", "turn on/off"
    SET_STRATEGIES = "set_strategies", "change strategies"
    SET_NUMBER = "set_number", "change number"


class ChangeRequest(Audited):
    """A change that widens exposure where a second person must approve it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"
        FAILED = "failed"

    state = models.ForeignKey(FlagState, on_delete=models.PROTECT, related_name="change_requests")
    operation = models.CharField(max_length=20, choices=Operation.choices)
    payload = models.JSONField(default=dict)
    base_revision = models.BigIntegerField(help_text="The state's revision when the change was proposed.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.operation_in_words} {self.state}"

    @property
    def operation_in_words(self) -> str:
        """What approving does, as a person says it: "disengage kill switch", "turn on", "set value to 2"."""
        flag = self.state.flag
        if self.operation == Operation.SET_ENABLED:
            on = bool(self.payload.get("enabled"))
            if flag.key == MAINTENANCE:
                return "enter maintenance mode" if on else "exit maintenance mode"
            if flag.is_inverted:
                return "engage kill switch" if on else "disengage kill switch"
            return "turn on" if on else "turn off"
        if self.operation == Operation.SET_NUMBER:
            return f"set value to {self.payload.get('number')}"
        return "change rollout strategies"

    def audit_service_id(self) -> int:
        return self.state.flag.service_id

    def audit_environment_id(self) -> int:
        return self.state.environment_id

    def audit_before(self) -> dict[str, Any]:
        """The audit diff's "old" side when the request is created: the state's values its payload changes."""
        keys = ("enabled", "strategies", "variants", "dependencies", "number")
        payload = self.payload if isinstance(self.payload, dict) else {}
        return {"payload": {k: getattr(self.state, k) for k in keys if k in payload}}


class ScheduledChange(Audited):
    """A change planned for a given time; it fails loudly if the flag changed since it was planned."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"
        SCHEDULED = "scheduled"
        APPLIED = "applied"
        FAILED = "failed"
        CANCELLED = "cancelled"

    state = models.ForeignKey(FlagState, on_delete=models.PROTECT, related_name="scheduled_changes")
    operation = models.CharField(max_length=20, choices=Operation.choices)
    payload = models.JSONField(default=dict)
    run_at = models.DateTimeField(db_index=True)
    base_revision = models.BigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_at"]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.state} at {self.run_at:%Y-%m-%d %H:%M}"

    def audit_service_id(self) -> int:
        return self.state.flag.service_id

    def audit_environment_id(self) -> int:
        return self.state.environment_id


class SdkInstance(models.Model):
    """An SDK process that reported in (telemetry: not audited)."""

    instance_id = models.CharField(max_length=100)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    revision = models.BigIntegerField(null=True)
    sdk_version = models.CharField(max_length=50, blank=True)
    # Hooks the instance has loaded, from its heartbeat ("chaos-http", "chaos-db"): chaos calls a service
    # without them "not drillable".
    capabilities = ArrayField(models.CharField(max_length=30), default=list, db_default=[], blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [models.UniqueConstraint(fields=["instance_id", "service", "environment"],
                                               name="sdk_instance_unique")]

    def __str__(self) -> str:
        return f"{self.instance_id} ({self.service_id}/{self.environment_id}) rev {self.revision}"


class SdkReceipt(models.Model):
    """A propagation receipt: an SDK instance reported a new revision (telemetry: not audited).

    Written when an instance's heartbeat carries a revision other than its previous one; the SDK sends
    that heartbeat as soon as it applies a snapshot, so `applied_at` is when the portal heard of it.
    """

    instance_id = models.CharField(max_length=100)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    revision = models.BigIntegerField()
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["applied_at"]
        indexes = [models.Index(fields=["service", "environment", "revision"])]

    def __str__(self) -> str:
        return f"{self.instance_id} applied rev {self.revision} at {self.applied_at:%Y-%m-%d %H:%M:%S}"


class BreakGlassRecord(models.Model):
    """A break-glass override written into the database: its id makes the replay run once."""

    override_id = models.CharField(max_length=64, unique=True)
    service_slug = models.CharField(max_length=63)
    environment_slug = models.CharField(max_length=63)
    flag_key = models.CharField(max_length=200)
    action = models.CharField(max_length=10)
    reason = models.TextField()
    operator = models.CharField(max_length=150, blank=True, help_text="Who ran the command (OS user).")
    created_at = models.DateTimeField(help_text="When the override took effect.")
    replayed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.service_slug}/{self.flag_key}@{self.environment_slug} ({self.created_at:%Y-%m-%d %H:%M})"
