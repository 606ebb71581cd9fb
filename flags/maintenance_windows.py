"""Maintenance mode for a scheduled maintenance (status app, `governance.hooks.MAINTENANCE_MODE`).

A maintenance that asked for it engages the service's `maintenance_mode` when it moves to in progress and
releases it when it completes, through the same services as a person's toggle (`enter_maintenance`,
`exit_maintenance`: their locks, revision, audit and exposure rules). Two rules keep a person's decision:
- engaging leaves a maintenance mode that is already on alone (and says so: None), so completion never
  switches off what someone engaged by hand;
- releasing happens only while the flag is still at the revision the maintenance set; if anyone changed it
  since, it is theirs now and stays.
Releasing widens exposure, so where the environment needs a second person it becomes a change request, as
for anyone; the toggle's expiry (the window's end) ends it on its own otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags import expiry, services
from flags.models import FlagState
from flags.services.common import MAINTENANCE
from governance.models import Environment, Service

MIN_EXPIRY = timedelta(minutes=1)


def _state(service: Service, environment: Environment) -> FlagState | None:
    return (FlagState.objects.select_related("flag", "environment")
            .filter(flag__service=service, flag__key=MAINTENANCE, environment=environment,
                    flag__archived_at__isnull=True).first())


def available(*, service: Service, environment: Environment) -> bool:
    """Whether the service has a (live) `maintenance_mode` flag in that environment. Reads only."""
    return _state(service, environment) is not None


@transaction.atomic
def engage(*, service: Service, environment: Environment, until: datetime, actor: Any, reason: str) -> int | None:
    """Turn maintenance mode on until `until`; None (nothing done) when it is on already."""
    state = _state(service, environment)
    if state is None:
        raise ValidationError(f"{service.slug} has no flag {MAINTENANCE!r} in {environment.slug}.")
    now = timezone.now()
    locked = FlagState.objects.select_for_update().get(pk=state.pk)
    if expiry.effective(locked, now=now)["enabled"]:
        return None
    outcome = services.enter_maintenance(service=service, environment=environment, actor=actor, reason=reason,
                                         expires_in=max(until - now, MIN_EXPIRY))
    return outcome.state.revision


@transaction.atomic
def extend(*, service: Service, environment: Environment, revision: int, until: datetime, actor: Any,
           reason: str) -> int | None:
    """Move the expiry of the maintenance mode this maintenance set to `until` (its window's new end); the new
    revision, or None when someone changed it since (theirs now: left alone)."""
    state = _state(service, environment)
    if state is None:
        return None
    now = timezone.now()
    locked = FlagState.objects.select_for_update().get(pk=state.pk)
    if locked.revision != revision or not expiry.effective(locked, now=now)["enabled"]:
        return None
    outcome = services.enter_maintenance(service=service, environment=environment, actor=actor, reason=reason,
                                         expires_in=max(until - now, MIN_EXPIRY), expected_revision=revision)
    return outcome.state.revision


def max_duration() -> timedelta:
    """The longest a maintenance mode toggle may last (flags.expiry owns the limit)."""
    return expiry.MAX_DURATION


@transaction.atomic
def release(*, service: Service, environment: Environment, revision: int, actor: Any, reason: str) -> str:
    """Turn off the maintenance mode this maintenance set, if nobody changed it since: released /
    change-request / left."""
    state = _state(service, environment)
    if state is None:
        return "left"
    locked = FlagState.objects.select_for_update().get(pk=state.pk)
    if locked.revision != revision or not expiry.effective(locked, now=timezone.now())["enabled"]:
        return "left"
    outcome = services.exit_maintenance(service=service, environment=environment, actor=actor, reason=reason)
    return "released" if outcome.applied else "change-request"


def describe(*, service: Service, environment: Environment, revision: int | None) -> str:
    """Maintenance mode as it stands, for the maintenance's admin page and the completion message. Reads only."""
    from flags.models import ChangeRequest

    state = _state(service, environment)
    if state is None:
        return f"{service.slug} has no maintenance_mode flag in {environment.slug}"
    values = expiry.effective(state, now=timezone.now())
    text = f"maintenance mode is {'ON' if values['enabled'] else 'off'} in {environment.slug}"
    if values["enabled"] and values["expires_at"] is not None:
        text += f" until {values['expires_at']:%Y-%m-%d %H:%M} UTC"
    if revision is not None:
        text += (" (as this maintenance set it)" if state.revision == revision
                 else " (changed since this maintenance set it: no longer this maintenance's)")
    pending = (ChangeRequest.objects.filter(state=state, status=ChangeRequest.Status.PENDING)
               .order_by("created_at").first())
    if pending is not None:
        text += f"; change request #{pending.pk} ({pending.get_operation_display()}) waits for a second person"
    return text

