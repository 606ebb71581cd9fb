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
