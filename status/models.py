"""Status page rows: component groups, components, incidents (and scheduled maintenance) and their updates.

Scheduled maintenance is an `Incident` of kind maintenance, as in Statuspage (same updates, same API shape).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.audit_base import Audited
from governance.models import Environment, Service
from status import indicator

ENV_VAR_NAME = RegexValidator(r"^[A-Z_][A-Z0-9_]{0,99}$", "An environment variable name: A-Z, 0-9 and _.")


class ComponentStatus(models.TextChoices):
    OPERATIONAL = indicator.OPERATIONAL, "operational"
    DEGRADED = indicator.DEGRADED, "degraded performance"
    PARTIAL = indicator.PARTIAL, "partial outage"
    MAJOR = indicator.MAJOR, "major outage"
    MAINTENANCE = indicator.MAINTENANCE, "under maintenance"


class ComponentSource(models.TextChoices):
    NONE = "", "none (operational by default)"
    MANUAL = "manual", "manual (wins over every automatic source)"
    SLO = "slo", "SLO burn-rate alert"
    MAINTENANCE = "maintenance", "maintenance mode or window"
    DRILL = "drill", "drill (chaos faults in production)"


class ComponentGroup(Audited):
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service__slug", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="status_group_unique_name")]

    def __str__(self) -> str:
        return f"{self.service_id and self.service.slug}: {self.name}"


class Component(Audited):
    """What a service's users see; `status` changes only through status.services (manual wins)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(ComponentGroup, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="components")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)
    public = models.BooleanField(default=True, help_text="Shown on the public page and API.")
    status = models.CharField(max_length=25, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL,
                              editable=False)
    source = models.CharField(max_length=15, choices=ComponentSource.choices, default=ComponentSource.NONE,
                              blank=True, editable=False)
    proposed_status = models.CharField(max_length=25, choices=ComponentStatus.choices, blank=True, editable=False,
                                       help_text="Proposed by a page burn-rate alert; a person accepts it.")
    proposed_reason = models.CharField(max_length=300, blank=True, editable=False)
    proposed_alert_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service__slug", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="status_component_unique_name")]

    def __str__(self) -> str:
        return f"{self.service_id and self.service.slug}: {self.name}"


class Incident(Audited):
    """An incident (investigating → … → resolved, + postmortem) or a maintenance (scheduled → … → completed)."""

    class Kind(models.TextChoices):
        INCIDENT = "incident"
        MAINTENANCE = "maintenance", "scheduled maintenance"

    class Status(models.TextChoices):
        INVESTIGATING = "investigating"
        IDENTIFIED = "identified"
        MONITORING = "monitoring"
        RESOLVED = "resolved"
        POSTMORTEM = "postmortem"
        SCHEDULED = "scheduled"
        IN_PROGRESS = "in_progress", "in progress"
        VERIFYING = "verifying"
        COMPLETED = "completed"

    class Impact(models.TextChoices):
        NONE = "none"
        MINOR = "minor"
        MAJOR = "major"
        CRITICAL = "critical"
        MAINTENANCE = "maintenance"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=15, choices=Status.choices, editable=False)
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.NONE)
    public = models.BooleanField(default=True, help_text="Shown on the public page and API once published.")
    published = models.BooleanField(default=False, editable=False,
                                    help_text="A person published it (drafts from alerts are never public).")
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")
    commander = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", help_text="The incident commander (reminded of missed updates).")
    next_update_by = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False,
                                       help_text="When the commander was reminded of the missed next update.")
    internal_notes = models.TextField(blank=True, max_length=5000, help_text="Never shown publicly.")
    started_at = models.DateTimeField(default=timezone.now)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    monitoring_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    source_alert_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # Maintenance only (status/services/maintenance.py): what the window does to releases and maintenance mode.
    freeze_environments = models.ManyToManyField(
        Environment, blank=True, related_name="+",
        help_text="Promotions of the service into these environments are frozen during the window.")
    maintenance_mode_environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Engage the service's maintenance_mode here when the maintenance moves to in progress; "
                  "completing it releases it.")
    auto_transition = models.BooleanField(
        default=False, db_default=False,
        help_text="Move to in progress at the start and to completed at the end by itself (status.tasks."
                  "advance_maintenance, every minute), with a standard update; a person can still post any step.")
    maintenance_mode_outcome = models.CharField(
        max_length=20, blank=True, default="", db_default="", editable=False,
        help_text="What completion did to the maintenance mode it engaged: released, change-request (a second "
                  "person must approve switching it off), left (someone changed it since), or empty.")
    maintenance_mode_revision = models.BigIntegerField(
        null=True, blank=True, editable=False,
        help_text="The flag revision this maintenance set when it engaged maintenance mode (empty: it did not).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="incident") | (Q(scheduled_for__isnull=False) & Q(scheduled_until__isnull=False)
                                                & Q(scheduled_until__gt=models.F("scheduled_for"))),
                name="status_maintenance_has_window"),
            models.UniqueConstraint(fields=["source_alert_id"], condition=Q(source_alert_id__isnull=False),
                                    name="status_one_draft_per_alert"),
        ]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    def is_stale(self, now: datetime | None = None) -> bool:
        """An open incident whose promised next update is overdue."""
        return self.is_open and self.next_update_by is not None and self.next_update_by < (now or timezone.now())


CLOSED = {Incident.Status.RESOLVED, Incident.Status.POSTMORTEM, Incident.Status.COMPLETED}


class IncidentUpdate(Audited):
    """One published (or draft) message of an incident; `affected_components` records old → new statuses."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="updates")
    status = models.CharField(max_length=15, choices=Incident.Status.choices)
    body = models.TextField(max_length=10000)
    affected_components = models.JSONField(default=list, blank=True, editable=False,
                                           help_text="[{code, name, old_status, new_status}]")
    next_update_by = models.DateTimeField(null=True, blank=True)
    author = models.CharField(max_length=150, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    display_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} {self.display_at:%Y-%m-%d %H:%M}"

    def audit_service_id(self) -> int:
        return self.incident.service_id


class Subscriber(models.Model):
    """An email subscription to the public page (self-service by the public: not Audited, no actor).

    Double opt-in: `confirmed_at` is set by the link in the confirmation email. Links carry a token signed with
    SECRET_KEY (`status.subscribers`), so nothing secret is stored. Empty `components`: every public component.
    """

    email = models.EmailField(max_length=254)
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["email"], condition=Q(unsubscribed_at__isnull=True),
                                               name="status_one_live_subscription_per_email")]

    def __str__(self) -> str:
        return self.email

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class WebhookSubscriber(Audited):
    """A signed webhook that receives each published update (Statuspage's webhook body), set up by staff.

    Staff only (a reason, audited): the portal must not POST to addresses the public chooses. The secret is
    never stored: `secret_env` names the environment variable holding it (as for notification channels).
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret_env = models.CharField(max_length=100, validators=[ENV_VAR_NAME],
                                  help_text="Name of the environment variable with the signing secret.")
    components = models.ManyToManyField(Component, blank=True, related_name="webhook_subscribers",
                                        help_text="Empty: every public component.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UptimeDay(models.Model):
    """One service's availability on one UTC day in production, outside its declared maintenance windows: the
    uptime bars' record past the SLI retention (rolled up nightly from SLI points; telemetry, not Audited)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    good = models.BigIntegerField()
    total = models.BigIntegerField()
    rolled_up_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "day"], name="status_uptime_day_unique")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day}: {self.good}/{self.total}"
