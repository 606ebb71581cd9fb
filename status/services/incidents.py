"""Incidents and scheduled maintenance: opening, updates through their flows, publishing, reminders.

Each function is keyword-only, takes `actor` and `reason`, and is atomic. Automatic sources (an SLO alert's
proposal accepted, maintenance mode, a maintenance window) never overwrite a status a person set by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import Environment, Service
from governance.services import require_reason, system_user
from status import subscribers
from status.models import (
    CLOSED,
    Component,
    ComponentSource,
    ComponentStatus,
    Incident,
    IncidentUpdate,
)
from status.services import maintenance
from status.services.components import _locked, _write_status, apply_automatic_status

S = Incident.Status
INCIDENT_FLOW: dict[str, set[str]] = {
    S.INVESTIGATING: {S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED},
    S.IDENTIFIED: {S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED},
    S.MONITORING: {S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED},
    S.RESOLVED: {S.POSTMORTEM},
    S.POSTMORTEM: set(),
}
MAINTENANCE_FLOW: dict[str, set[str]] = {
    S.SCHEDULED: {S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED},
    S.IN_PROGRESS: {S.IN_PROGRESS, S.VERIFYING, S.COMPLETED},
    S.VERIFYING: {S.IN_PROGRESS, S.VERIFYING, S.COMPLETED},
    S.COMPLETED: set(),
}
MAX_NEXT_UPDATE = timedelta(days=7)


# --- incidents and maintenance -------------------------------------------------------------------------


def _check_next_update(next_update_by: datetime | None, now: datetime) -> None:
    if next_update_by is None:
        return
    if next_update_by <= now:
        raise ValidationError({"next_update_by": "The next update must be promised for a time in the future."})
    if next_update_by > now + MAX_NEXT_UPDATE:
        raise ValidationError({"next_update_by": "Promise the next update within 7 days."})


def _apply_component_statuses(incident: Incident, statuses: Mapping[Component, str], *, actor: Any,
                              reason: str) -> list[dict[str, str]]:
    """Statuses an update sets: a person's choice (manual). Returns Statuspage's affected_components."""
    affected = []
    for component, status in statuses.items():
        if component.service_id != incident.service_id:
            raise ValidationError({"components": f"{component} belongs to another service."})
        component = _locked(component)
        old = component.status
        _write_status(component, status=status, source=ComponentSource.MANUAL, actor=actor, reason=reason)
        affected.append({"code": str(component.pk), "name": component.name, "old_status": old, "new_status": status})
    return affected


def _maintenance_components(incident: Incident, status: str, *, actor: Any, reason: str) -> None:
    for component in incident.components.all():
        if status == S.IN_PROGRESS:
            apply_automatic_status(component=component, status=ComponentStatus.MAINTENANCE,
                                   source=ComponentSource.MAINTENANCE, actor=actor, reason=reason)
        elif status == S.COMPLETED:
            apply_automatic_status(component=component, status=ComponentStatus.OPERATIONAL,
                                   source=ComponentSource.NONE, actor=actor, reason=reason,
                                   only_if_source=ComponentSource.MAINTENANCE)


def _maintenance_links(incident: Incident, status: str, *, now: datetime, actor: Any, reason: str) -> list[str]:
    """In progress engages maintenance mode (if asked); completion ends the freezes and releases it."""
    if status == S.IN_PROGRESS:
        return maintenance.engage_maintenance_mode(incident, now=now, actor=actor, reason=reason)
    if status == S.COMPLETED:
        maintenance.sync_freeze(incident, now=now, actor=actor, reason=reason, ending=True)
        outcome = maintenance.release_maintenance_mode(incident, actor=actor, reason=reason)
        if outcome != "not engaged":
            incident.maintenance_mode_outcome = outcome
            return ["maintenance_mode_outcome"]
    return []


def _record_update(incident: Incident, *, status: str, body: str, next_update_by: datetime | None, actor: Any,
                   reason: str, affected: list[dict[str, str]], now: datetime) -> IncidentUpdate:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write what people need to know."})
    update = IncidentUpdate(incident=incident, status=status, body=body, next_update_by=next_update_by,
                            affected_components=affected, author=getattr(actor, "username", str(actor)),
                            created_at=now, display_at=now)
    update.stamp(actor=actor, reason=reason)
    update.full_clean()
    update.save()
    subscribers.queue_notification(update)
    return update


@transaction.atomic
def open_incident(*, service: Service, name: str, body: str, actor: Any, reason: str,
                  impact: str = Incident.Impact.MINOR, components: Iterable[Component] = (),
                  component_status: str | None = None, commander: Any = None,
                  next_update_by: datetime | None = None, public: bool = True, publish: bool = True,
                  internal_notes: str = "", source_alert_id: int | None = None) -> Incident:
    """Open an incident (investigating) with its first update; `publish=False` keeps it a draft."""
    reason, now = require_reason(reason), timezone.now()
    if impact == Incident.Impact.MAINTENANCE:
        raise ValidationError({"impact": "Maintenance impact belongs to scheduled maintenance."})
    _check_next_update(next_update_by, now)
    components = list(components)
    incident = Incident(kind=Incident.Kind.INCIDENT, service=service, name=name, status=S.INVESTIGATING,
                        impact=impact, public=public, published=publish, commander=commander,
                        next_update_by=next_update_by, internal_notes=internal_notes, started_at=now,
                        source_alert_id=source_alert_id, created_at=now, updated_at=now)
    incident.stamp(actor=actor, reason=reason)
    incident.full_clean()
    incident.save()
    for component in components:
        if component.service_id != service.pk:
            raise ValidationError({"components": f"{component} belongs to another service."})
    incident.components.set(components)
    affected = _apply_component_statuses(incident, {c: component_status for c in components}, actor=actor,
                                         reason=reason) if component_status and publish else []
    _record_update(incident, status=S.INVESTIGATING, body=body, next_update_by=next_update_by, actor=actor,
                   reason=reason, affected=affected, now=now)
    return incident


@transaction.atomic
def schedule_maintenance(*, service: Service, name: str, body: str, scheduled_for: datetime,
                         scheduled_until: datetime, actor: Any, reason: str, components: Iterable[Component] = (),
                         public: bool = True, freeze_environments: Iterable[Environment] | None = None,
                         maintenance_mode_environment: Environment | None = None,
                         auto_transition: bool = False) -> Incident:
    """Declare a maintenance window; it may freeze promotions and engage maintenance mode (status.services.
    maintenance: `freeze_environments` left out means every production environment)."""
    reason, now = require_reason(reason), timezone.now()
    if scheduled_until <= scheduled_for:
        raise ValidationError({"scheduled_until": "The window must end after it starts."})
    freezes = maintenance.resolve_freeze_environments(freeze_environments)
    maintenance.check_links(service=service, freeze_environments=freezes,
                            maintenance_mode_environment=maintenance_mode_environment,
                            length=scheduled_until - scheduled_for)
    components = list(components)
    incident = Incident(kind=Incident.Kind.MAINTENANCE, service=service, name=name, status=S.SCHEDULED,
                        impact=Incident.Impact.MAINTENANCE, public=public, published=True, started_at=scheduled_for,
                        scheduled_for=scheduled_for, scheduled_until=scheduled_until, created_at=now, updated_at=now,
                        maintenance_mode_environment=maintenance_mode_environment,
                        auto_transition=auto_transition)
    incident.stamp(actor=actor, reason=reason)
    incident.full_clean()
    incident.save()
    for component in components:
        if component.service_id != service.pk:
            raise ValidationError({"components": f"{component} belongs to another service."})
    incident.components.set(components)
    incident.freeze_environments.set(freezes)
    maintenance.sync_freeze(incident, now=now, actor=actor, reason=reason)
    _record_update(incident, status=S.SCHEDULED, body=body, next_update_by=None, actor=actor, reason=reason,
                   affected=[], now=now)
    return incident


@transaction.atomic
def reschedule_maintenance(*, incident: Incident, scheduled_for: datetime, scheduled_until: datetime, actor: Any,
                           reason: str, freeze_environments: Iterable[Environment] | None = None) -> Incident:
    """Move a maintenance's window (and, before it starts, change what it freezes); its freezes follow.

    Once in progress its start is history: only the end moves. `freeze_environments` None keeps them.
    """
    reason, now = require_reason(reason), timezone.now()
    incident = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
    if incident.kind != Incident.Kind.MAINTENANCE or incident.status in CLOSED:
        raise ValidationError({"status": f"'{incident}' is not a maintenance that can still be rescheduled."})
    if incident.status != S.SCHEDULED and (scheduled_for != incident.scheduled_for
                                           or freeze_environments is not None):
        raise ValidationError({"scheduled_for": f"'{incident}' has started: only its end can move."})
    if scheduled_until <= scheduled_for:
        raise ValidationError({"scheduled_until": "The window must end after it starts."})
    if incident.status == S.SCHEDULED and scheduled_for != incident.scheduled_for \
            and scheduled_for < now - timedelta(minutes=1):
        # A window moved into the past would count as "declared beforehand" and leave an outage that already
        # happened out of the SLOs that exclude maintenance.
        raise ValidationError({"scheduled_for": "A maintenance cannot be moved into the past: declare a new one, "
                                                "or post what happened on an incident."})
    if incident.maintenance_mode_environment is not None:
        maintenance.check_links(service=incident.service, freeze_environments=[],
                                maintenance_mode_environment=incident.maintenance_mode_environment,
                                length=scheduled_until - scheduled_for)
    if freeze_environments is not None:
        freezes = list(freeze_environments)
        maintenance.check_links(service=incident.service, freeze_environments=freezes,
                                maintenance_mode_environment=None)
        incident.freeze_environments.set(freezes)
    incident.scheduled_for, incident.scheduled_until, incident.updated_at = scheduled_for, scheduled_until, now
    fields = ["scheduled_for", "scheduled_until", "updated_at"]
    if incident.status == S.SCHEDULED:
        incident.started_at = scheduled_for
        fields.append("started_at")
    if incident.status != S.SCHEDULED:
        fields += maintenance.extend_maintenance_mode(incident, actor=actor, reason=reason)
    incident.stamp(actor=actor, reason=reason)
    incident.full_clean()
    incident.save(update_fields=fields)
    maintenance.sync_freeze(incident, now=now, actor=actor, reason=reason)
    return incident


@transaction.atomic
def post_update(*, incident: Incident, status: str, body: str, actor: Any, reason: str,
                next_update_by: datetime | None = None,
                component_statuses: Mapping[Component, str] | None = None) -> IncidentUpdate:
    """The next step of an incident or maintenance: one update, the incident's new state, component statuses."""
    reason, now = require_reason(reason), timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    flow = INCIDENT_FLOW if incident.kind == Incident.Kind.INCIDENT else MAINTENANCE_FLOW
    if status not in flow.get(incident.status, set()):
        allowed = ", ".join(sorted(flow.get(incident.status, set()))) or "nothing (it is closed)"
        raise ValidationError({"status": f"{incident.get_kind_display()} '{incident}' is {incident.status}: "
                                         f"it can move to {allowed}, not {status}."})
    if status in CLOSED:
        next_update_by = None
    _check_next_update(next_update_by, now)
    affected = _apply_component_statuses(incident, dict(component_statuses or {}), actor=actor, reason=reason)
    fields = ["status", "next_update_by", "reminded_at", "updated_at"]
    if incident.kind == Incident.Kind.MAINTENANCE and status != incident.status:
        _maintenance_components(incident, status, actor=actor, reason=reason)
        fields += _maintenance_links(incident, status, now=now, actor=actor, reason=reason)
    update = _record_update(incident, status=status, body=body, next_update_by=next_update_by, actor=actor,
                            reason=reason, affected=affected, now=now)
    if status == S.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
        fields.append("monitoring_at")
    if status in (S.RESOLVED, S.COMPLETED):
        incident.resolved_at = now
        fields.append("resolved_at")
    incident.status, incident.next_update_by, incident.reminded_at, incident.updated_at = \
        status, next_update_by, None, now
    incident.stamp(actor=actor, reason=reason)
    incident.save(update_fields=fields)
    return update


@transaction.atomic
def publish_incident(*, incident: Incident, actor: Any, reason: str) -> Incident:
    """A person publishes a draft (e.g. one drafted from an alert): nothing reaches the public page before."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.published:
        raise ValidationError(f"'{incident}' is already published.")
    incident.published, incident.updated_at = True, timezone.now()
    incident.stamp(actor=actor, reason=require_reason(reason))
    incident.save(update_fields=["published", "updated_at"])
    latest = incident.updates.order_by("-display_at", "-id").first()
    if latest is not None:
        subscribers.queue_notification(latest)
    return incident


@transaction.atomic
def assign_commander(*, incident: Incident, commander: Any, actor: Any, reason: str) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    incident.commander, incident.updated_at = commander, timezone.now()
    incident.stamp(actor=actor, reason=require_reason(reason))
    incident.save(update_fields=["commander", "updated_at"])
    return incident


def overdue_incidents(now: datetime | None = None) -> list[Incident]:
    """Open incidents whose promised update is late and whose commander was not reminded yet (reads only)."""
    now = now or timezone.now()
    return list(Incident.objects.select_related("service", "commander").filter(
        next_update_by__lt=now, reminded_at__isnull=True).exclude(status__in=CLOSED))


def remind_overdue(*, now: datetime | None = None, send: Any = None) -> list[Incident]:
    """The scheduled job: remind each overdue incident's commander once per missed deadline."""
    from status import reminders

    now = now or timezone.now()
    send = send or reminders.send_reminder
    reminded = []
    for candidate in overdue_incidents(now):
        with transaction.atomic():
            incident = Incident.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
                "service", "commander").filter(pk=candidate.pk, reminded_at__isnull=True).first()
            if incident is None or not incident.is_stale(now):
                continue
            incident.reminded_at = now
            incident.stamp(actor=system_user(), reason="next update overdue: commander reminded "
                                                       "(status.tasks.remind_overdue_incidents)")
            incident.save(update_fields=["reminded_at"])
            incident_id = incident.pk
            transaction.on_commit(lambda pk=incident_id: send(pk))  # type: ignore[misc]  # bound default
            reminded.append(incident)
    return reminded


@transaction.atomic
def save_incident(*, incident: Incident, actor: Any, reason: str, update_fields: Iterable[str]) -> Incident:
    """Edit an incident's descriptive fields (name, impact, visibility, commander, internal notes)."""
    allowed = {"name", "impact", "public", "commander", "internal_notes"}
    fields = [f for f in update_fields if f in allowed]
    if incident.kind == Incident.Kind.INCIDENT and incident.impact == Incident.Impact.MAINTENANCE:
        raise ValidationError({"impact": "Maintenance impact belongs to scheduled maintenance."})
    incident.stamp(actor=actor, reason=require_reason(reason))
    incident.full_clean()
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "updated_at"])
    return incident
