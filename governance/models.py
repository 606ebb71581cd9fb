"""Core models: services, environments, API tokens, the audit timeline, idempotency, heartbeats."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from governance.audit_base import Audited

SLUG_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
SLUG = RegexValidator(SLUG_RE, "Use lowercase letters, digits and dashes.")


class Scope(models.TextChoices):
    FLAGS_READ = "flags:read"
    FLAGS_WRITE = "flags:write"
    RELEASES_WRITE = "releases:write"
    CHECKS_WRITE = "checks:write"
    SLI_WRITE = "sli:write"
    DRILLS_RUN = "drills:run"
    AUDIT_READ = "audit:read"
    SECRETS_WRITE = "secrets:write"  # the secrets inventory: entries and recorded rotations (never values)
    # The portal's own operational flags (service FLAGS_PORTAL_SERVICE): not an ordinary flags:write grant.
    PORTAL_OPERATE = "portal:operate"
    CHAOS_RUN = "chaos:run"  # start drills, add and remove faults, halt all chaos
    CHAOS_READ = "chaos:read"
    SLOS_WRITE = "slos:write"  # change SLO definitions' options through the API (exclude_maintenance)


class Service(Audited):
    slug = models.SlugField(max_length=63, unique=True, validators=[SLUG])
    name = models.CharField(max_length=200)
    repository_url = models.URLField(blank=True)
    owners = models.CharField(max_length=300, blank=True, help_text="Team or people who own the service.")
    deploy_provider = models.CharField(
        max_length=20,
        choices=[("record", "Record only"), ("webhook", "Signed webhook"), ("vercel", "Vercel")],
        default="record",
    )
    deploy_settings = models.JSONField(default=dict, blank=True, help_text="Provider settings; never secrets.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Environment(Audited):
    slug = models.SlugField(max_length=63, unique=True, validators=[SLUG])
    name = models.CharField(max_length=100)
    is_production = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0, help_text="Promotion order: lower comes first.")
    requires_second_person = models.BooleanField(
        default=False, help_text="Changes that widen exposure need approval by someone other than their author."
    )

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.slug


class ApiToken(Audited):
    """A bearer token for CI or a governed service; only a digest of the secret is stored."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=20, choices=Scope.choices), default=list)
    services = models.ManyToManyField(Service, blank=True, help_text="Empty: every service.")
    environments = models.ManyToManyField(Environment, blank=True, help_text="Empty: every environment.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_from", editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")), name="token_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class Source(models.TextChoices):
    """Where an audited change came from (governance/audit.py decides)."""

    ADMIN = "admin"
    API = "api"
    COMMAND = "command"
    TASK = "task"
    OTHER = "other"
    GITHUB = "github"  # imported from GitHub's organisation audit log (releases/github_audit.py), never edited


class ServiceAccount(Audited):
    """Marks a user as a non-human account (CI, a governed service): it may own API tokens others create for
    it, and it can never approve anything (releases, flag change requests, scheduled changes)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account")
    description = models.CharField(max_length=300, help_text="What uses this account (pipeline, service).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} (service account)"


class AuditEvent(models.Model):
    """One row per history record of any audited model: the merged, append-only audit timeline.

    Written in the same transaction as the history record it mirrors (governance/audit.py), so the
    timeline and the export never disagree with the per-model history.
    """

    class Change(models.TextChoices):
        CREATED = "+", "created"
        CHANGED = "~", "changed"
        DELETED = "-", "deleted"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    actor_name = models.CharField(max_length=150, blank=True)
    model = models.CharField(max_length=100, db_index=True, help_text="app_label.model")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    change = models.CharField(max_length=1, choices=Change.choices)
    reason = models.TextField()
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    # Indexed by Meta.indexes, built CONCURRENTLY on the existing table (migration 0005), not by db_index.
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False,
        db_index=False,
    )
    # db_default: the database keeps the default, so code that predates the column can still insert (expand).
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.OTHER, db_default=Source.OTHER)
    changes = models.JSONField(default=list, help_text="[{field, old, new}]; foreign keys add old_label/new_label")
    # None: written directly by a service for a model without history tables (users, groups, memberships).
    history_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["model", "object_id", "-at"]),
            models.Index(fields=["actor", "-at"]),
            models.Index(fields=["service", "-at"]),
            models.Index(fields=["environment", "-at"], name="governance_auditevent_env_at"),
            models.Index(fields=["source", "-at"], name="governance_auditevent_src_at"),
        ]
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.get_change_display()} {self.model} {self.object_repr}"


class AuditExport(models.Model):
    """Each export's range, filters, head hash and signed trailer: what the portal issued, and to whom."""

    created_at = models.DateTimeField(default=timezone.now)
    actor_name = models.CharField(max_length=150)
    since = models.DateTimeField(null=True)
    until = models.DateTimeField(null=True)
    filters = models.JSONField(default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField()))
    record_count = models.PositiveIntegerField()
    head_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32, blank=True, db_default="")
    trailer = models.JSONField(null=True, blank=True, help_text="The signed last line of the export.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.record_count} records by {self.actor_name}"


class AuditSigningKey(models.Model):
    """Every public key that ever signed an export or checkpoint, kept so that old files verify after a
    rotation. Public keys only: the private key lives in AUDIT_SIGNING_KEY or the var dir, never here."""

    key_id = models.CharField(max_length=32, unique=True)
    public_key = models.CharField(max_length=64, help_text="base64 of the raw 32-byte Ed25519 public key")
    first_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-first_used_at"]

    def __str__(self) -> str:
        return self.key_id


class AuditCheckpoint(models.Model):
    """A signed statement of the whole trail's chain head up to `covers_until` (count and head hash)."""

    created_at = models.DateTimeField(default=timezone.now)
    covers_until = models.DateTimeField(unique=True)
    record_count = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(null=True)
    key_id = models.CharField(max_length=32)
    document = models.JSONField(help_text="The signed checkpoint, as `govctl audit verify --checkpoint` reads it.")

    class Meta:
        ordering = ["-covers_until"]

    def __str__(self) -> str:
        return f"{self.covers_until:%Y-%m-%d %H:%M} {self.record_count} records"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed for retries."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class Heartbeat(models.Model):
    """Liveness of background components (the django-q2 scheduler feeds `scheduler`)."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"
