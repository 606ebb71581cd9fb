"""Component statuses (manual wins), the hooks that feed them, and webhook subscribers.

Each function is keyword-only, takes `actor` and `reason`, and is atomic. Automatic sources (an SLO alert's
proposal accepted, maintenance mode, a maintenance window) never overwrite a status a person set by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import Environment, Service
from governance.services import require_reason, system_user
from status.models import (
    Component,
    ComponentGroup,
    ComponentSource,
    ComponentStatus,
    WebhookSubscriber,
)

PAGE_PROPOSAL = ComponentStatus.PARTIAL  # what a paging burn-rate alert proposes


# --- components ----------------------------------------------------------------------------------------


@transaction.atomic
def save_group(*, group: ComponentGroup, actor: Any, reason: str) -> ComponentGroup:
    group.stamp(actor=actor, reason=require_reason(reason))
    group.full_clean()
    group.save()
    return group


@transaction.atomic
def save_component(*, component: Component, actor: Any, reason: str,
                   update_fields: Iterable[str] | None = None) -> Component:
    """Create or edit a component's description fields (its status changes through the functions below)."""
    if component.group_id is not None and component.group is not None \
            and component.group.service_id != component.service_id:
        raise ValidationError({"group": "The group belongs to another service."})
    component.stamp(actor=actor, reason=require_reason(reason))
    component.full_clean()
    component.updated_at = timezone.now()
    fields = [*update_fields, "updated_at"] if update_fields is not None and component.pk else None
    component.save(update_fields=fields)
    return component


def _write_status(component: Component, *, status: str, source: str, actor: Any, reason: str,
                  extra: Iterable[str] = ()) -> Component:
    if status not in ComponentStatus.values:
        raise ValidationError({"status": f"One of {', '.join(ComponentStatus.values)}."})
    component.status, component.source, component.updated_at = status, source, timezone.now()
    component.stamp(actor=actor, reason=reason)
    component.save(update_fields=["status", "source", "updated_at", *extra])
    return component


def _locked(component: Component) -> Component:
    return Component.objects.select_for_update().select_related("service").get(pk=component.pk)


@transaction.atomic
def set_component_status(*, component: Component, status: str, actor: Any, reason: str) -> Component:
    """A person's decision: it wins over every automatic source until released."""
    component = _locked(component)
    component.proposed_status, component.proposed_reason, component.proposed_alert_id = "", "", None
    return _write_status(component, status=status, source=ComponentSource.MANUAL, actor=actor,
                         reason=require_reason(reason),
                         extra=["proposed_status", "proposed_reason", "proposed_alert_id"])


@transaction.atomic
def release_manual_status(*, component: Component, actor: Any, reason: str) -> Component:
    """Hand the component back to the automatic sources (operational until one of them says otherwise)."""
    component = _locked(component)
    if component.source != ComponentSource.MANUAL:
        raise ValidationError(f"{component} has no manual status to release.")
    return _write_status(component, status=ComponentStatus.OPERATIONAL, source=ComponentSource.NONE, actor=actor,
                         reason=require_reason(reason))


def apply_automatic_status(*, component: Component, status: str, source: str, actor: Any, reason: str,
                           only_if_source: str | None = None) -> bool:
    """An automatic source's status; False when a manual status (or another source) holds the component."""
    with transaction.atomic():
        component = _locked(component)
        if component.source == ComponentSource.MANUAL:
            return False
        if only_if_source is not None and component.source != only_if_source:
            return False
        if component.status == status and component.source == source:
            return False
        _write_status(component, status=status, source=source, actor=actor, reason=require_reason(reason))
        return True


@transaction.atomic
def accept_proposal(*, component: Component, actor: Any, reason: str) -> Component:
    """A person accepts the status an SLO alert proposed: applied with source "slo" (a manual status wins)."""
    component = _locked(component)
    if not component.proposed_status:
        raise ValidationError(f"{component} has no proposed status.")
    if component.source == ComponentSource.MANUAL:
        raise ValidationError(f"{component} has a manual status; change it by hand or release it first.")
    status = component.proposed_status
    component.proposed_status, component.proposed_reason, component.proposed_alert_id = "", "", None
    return _write_status(component, status=status, source=ComponentSource.SLO, actor=actor,
                         reason=require_reason(reason),
                         extra=["proposed_status", "proposed_reason", "proposed_alert_id"])


@transaction.atomic
def dismiss_proposal(*, component: Component, actor: Any, reason: str) -> Component:
    component = _locked(component)
    if not component.proposed_status:
        raise ValidationError(f"{component} has no proposed status.")
    component.proposed_status, component.proposed_reason, component.proposed_alert_id = "", "", None
    component.stamp(actor=actor, reason=require_reason(reason))
    component.save(update_fields=["proposed_status", "proposed_reason", "proposed_alert_id"])
    return component


# --- hooks (registered in StatusConfig.ready) ----------------------------------------------------------


def on_maintenance_changed(*, service: Service, environment: Environment, engaged: bool, actor: Any,
                           reason: str) -> None:
    """Maintenance mode in production puts the service's components under maintenance, and back."""
    if not environment.is_production:
        return
    why = f"maintenance mode {'engaged' if engaged else 'ended'} in {environment.slug}: {reason}"
    for component in Component.objects.filter(service=service):
        if engaged:
            apply_automatic_status(component=component, status=ComponentStatus.MAINTENANCE,
                                   source=ComponentSource.MAINTENANCE, actor=actor, reason=why)
        else:
            apply_automatic_status(component=component, status=ComponentStatus.OPERATIONAL,
                                   source=ComponentSource.NONE, actor=actor, reason=why,
                                   only_if_source=ComponentSource.MAINTENANCE)


def on_drill_faults(*, service: Service, environment: Environment, active: bool, actor: Any, reason: str) -> None:
    """Chaos faults in force in production degrade the service's operational components (source "drill"), and
    their end restores them. A drill never hides a worse status, maintenance or a person's decision: only
    operational components take it, and only the drill's own status is lifted."""
    if not environment.is_production:
        return
    why = f"chaos drill {'in force' if active else 'over'} in {environment.slug}: {reason}"
    components = Component.objects.filter(service=service)
    if not active:  # only what a drill set can be lifted: usually nothing (the watchdog asks every minute)
        components = components.filter(source=ComponentSource.DRILL)
    for component in components:
        if active and component.status == ComponentStatus.OPERATIONAL:
            apply_automatic_status(component=component, status=ComponentStatus.DEGRADED,
                                   source=ComponentSource.DRILL, actor=actor, reason=why)
        elif not active:
            apply_automatic_status(component=component, status=ComponentStatus.OPERATIONAL,
                                   source=ComponentSource.NONE, actor=actor, reason=why,
                                   only_if_source=ComponentSource.DRILL)


def on_alert_opened(*, alert_id: int, service_id: int | None, action: str, summary: str) -> None:
    """A paging burn-rate alert proposes a status for the service's public components; a person decides."""
    if action != "page" or service_id is None:
        return
    actor = system_user()
    for component in Component.objects.select_for_update().filter(service_id=service_id):
        if component.source == ComponentSource.MANUAL or component.status != ComponentStatus.OPERATIONAL:
            continue
        component.proposed_status, component.proposed_alert_id = PAGE_PROPOSAL, alert_id
        component.proposed_reason = summary[:300]
        component.stamp(actor=actor, reason=f"proposed by SLO alert {alert_id}: {summary}"[:1000])
        component.save(update_fields=["proposed_status", "proposed_reason", "proposed_alert_id"])



@transaction.atomic
def save_webhook_subscriber(*, subscriber: WebhookSubscriber, actor: Any, reason: str,
                            update_fields: Iterable[str] | None = None) -> WebhookSubscriber:
    subscriber.stamp(actor=actor, reason=require_reason(reason))
    subscriber.full_clean()
    fields = list(update_fields) if update_fields is not None and subscriber.pk else None
    if fields == []:
        return subscriber
    subscriber.save(update_fields=fields)
    return subscriber


def set_webhook_components(*, subscriber: WebhookSubscriber, components: Iterable[Component], actor: Any) -> None:
    """The components a webhook follows (public ones only); the admin saves them with the row."""
    subscriber.components.set([c for c in components if c.public])
