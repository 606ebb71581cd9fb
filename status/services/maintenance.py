"""What a scheduled maintenance does outside the status page: freeze promotions, engage maintenance mode.

A maintenance may declare, when it is scheduled (or rescheduled while not started):
- `freeze_environments`: promotions of its service into these environments are refused during the window. Left
  out, it is every production environment: a maintenance is when a surprise deployment hurts most, and a
  release manager can still override a freeze (recorded) when one must go out. Give none to freeze nothing.
  The freeze windows belong to releases; `governance.hooks.MAINTENANCE_FREEZE` keeps them in line with the
  maintenance (scheduled, rescheduled, completed — early or cancelled — in the same transaction).
- `maintenance_mode_environment`: the service's `maintenance_mode` is engaged there when the maintenance moves
  to in progress (until the window's end, at least 30 minutes) and released when it completes — only if this
  maintenance engaged it and nobody changed it since (`governance.hooks.MAINTENANCE_MODE`, flags' services).
  Refused at scheduling time when the service has no such flag there, not when the window starts.
- `auto_transition`: `advance_due` (status.tasks.advance_maintenance, every minute) posts the start and the end
  by itself, as the system user, with the standard updates below; otherwise a person posts every step.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance import hooks
from governance.models import Environment, Service
from status.models import Incident

log = logging.getLogger("status")

MIN_MAINTENANCE_MODE = timedelta(minutes=30)


def default_freeze_environments() -> list[Environment]:
    """Left out, a maintenance freezes promotions into every production environment (see the module)."""
    return list(Environment.objects.filter(is_production=True).order_by("order", "slug"))


def resolve_freeze_environments(environments: Iterable[Environment] | None) -> list[Environment]:
    return default_freeze_environments() if environments is None else list(environments)


def check_links(*, service: Service, freeze_environments: list[Environment],
                maintenance_mode_environment: Environment | None, length: timedelta | None = None) -> None:
    """Refuse, before anything is written, what could not be done when the window starts."""
    if freeze_environments and not hooks.MAINTENANCE_FREEZE:
        raise ValidationError({"freeze_environments": "Freeze windows are not available (releases app missing)."})
    if maintenance_mode_environment is None:
        return
    available = hooks.MAINTENANCE_MODE.get("available")
    if available is None or not available(service=service, environment=maintenance_mode_environment):
        raise ValidationError({"maintenance_mode_environment":
                               f"{service.slug} has no maintenance_mode flag in {maintenance_mode_environment.slug}: "
                               "maintenance mode cannot be engaged there."})
    longest = hooks.MAINTENANCE_MODE["max_duration"]() if "max_duration" in hooks.MAINTENANCE_MODE else None
    if length is not None and longest is not None and length > longest:
        raise ValidationError({"scheduled_until": f"Maintenance mode lasts at most {longest.days} days: shorten the "
                                                  "window or engage maintenance mode by hand."})


# What a maintenance does beyond the status page needs the grant a person would need to do it by hand: a status
# editor without it cannot freeze releases or switch maintenance mode through a maintenance.
FREEZE_PERMISSION = "releases.add_freezewindow"
MAINTENANCE_MODE_PERMISSION = "flags.change_flagstate"


def check_grants(user: Any, *, freeze_environments: Iterable[Environment] | None,
                 maintenance_mode_environment: Environment | None) -> None:
    """ValidationError naming each link the person may not make (reads only)."""
    errors: dict[str, str] = {}
    if freeze_environments and not user.has_perm(FREEZE_PERMISSION):
        errors["freeze_environments"] = ("You may not freeze promotions (it needs the permission to add freeze "
                                         "windows: a release manager); untick them.")
    if maintenance_mode_environment is not None and not user.has_perm(MAINTENANCE_MODE_PERMISSION):
        errors["maintenance_mode_environment"] = ("You may not switch maintenance mode (it needs the permission to "
                                                  "change flag states: an operator).")
    if errors:
        raise ValidationError(errors)


def consequences(*, service: Service, scheduled_for: datetime, scheduled_until: datetime,
                 freeze_environments: Iterable[Environment],
                 maintenance_mode_environment: Environment | None, auto_transition: bool = False) -> list[str]:
    """What scheduling will do, in words, for the confirmation page (reads only)."""
    span = f"{scheduled_for:%Y-%m-%d %H:%M}–{scheduled_until:%Y-%m-%d %H:%M} UTC"
    slugs = [env.slug for env in freeze_environments]
    lines = [f"Promotions of {service.slug} to {', '.join(slugs)} will be frozen {span}." if slugs
             else "No promotions will be frozen."]
    if maintenance_mode_environment is not None:
        lines.append(f"Maintenance mode will be engaged in {maintenance_mode_environment.slug} at start "
                     f"(when the maintenance moves to in progress) and released when it completes.")
    else:
        lines.append("Maintenance mode will not be engaged.")
    if auto_transition:
        lines.append(f"It will move to in progress at {scheduled_for:%Y-%m-%d %H:%M} UTC and to completed at "
                     f"{scheduled_until:%Y-%m-%d %H:%M} UTC by itself, telling subscribers each time.")
    else:
        lines.append("A person posts each step (in progress, completed); nothing moves it by itself.")
    return lines


def sync_freeze(incident: Incident, *, now: datetime, actor: Any, reason: str, ending: bool = False) -> None:
    """Ask releases to make the maintenance's freeze windows match it (or end them when `ending`)."""
    environments = [] if ending else list(incident.freeze_environments.all())
    note = f"{incident.name} — {reason}"
    for sync in hooks.MAINTENANCE_FREEZE:
        assert incident.scheduled_for is not None and incident.scheduled_until is not None  # a maintenance
        sync(maintenance_id=incident.pk, service=incident.service, title=incident.name, note=note,
             environments=environments, starts_at=incident.scheduled_for, ends_at=incident.scheduled_until,
             now=now, actor=actor, reason=reason)


def engage_maintenance_mode(incident: Incident, *, now: datetime, actor: Any, reason: str) -> list[str]:
    """On the move to in progress: engage maintenance mode if asked. Returns the fields it changed."""
    env = incident.maintenance_mode_environment
    if env is None or incident.maintenance_mode_revision is not None:
        return []
    assert incident.scheduled_until is not None  # a maintenance
    until = max(incident.scheduled_until, now + MIN_MAINTENANCE_MODE)
    revision = hooks.MAINTENANCE_MODE["engage"](
        service=incident.service, environment=env, until=until, actor=actor,
        reason=f"{reason} [maintenance #{incident.pk} '{incident.name}' in progress]")
    incident.maintenance_mode_revision = revision
    return ["maintenance_mode_revision"] if revision is not None else []


def extend_maintenance_mode(incident: Incident, *, actor: Any, reason: str) -> list[str]:
    """A running maintenance's end moved: the maintenance mode it engaged ends with it (fields changed)."""
    env, revision = incident.maintenance_mode_environment, incident.maintenance_mode_revision
    if env is None or revision is None or incident.scheduled_until is None or "extend" not in hooks.MAINTENANCE_MODE:
        return []
    new = hooks.MAINTENANCE_MODE["extend"](
        service=incident.service, environment=env, revision=revision,
        until=max(incident.scheduled_until, timezone.now() + MIN_MAINTENANCE_MODE), actor=actor,
        reason=f"{reason} [maintenance #{incident.pk} '{incident.name}' rescheduled]")
    if new is None:
        return []
    incident.maintenance_mode_revision = new
    return ["maintenance_mode_revision"]


def release_maintenance_mode(incident: Incident, *, actor: Any, reason: str) -> str:
    """On completion: release the maintenance mode this maintenance engaged (see flags.maintenance_windows)."""
    env, revision = incident.maintenance_mode_environment, incident.maintenance_mode_revision
    if env is None or revision is None:
        return "not engaged"
    return str(hooks.MAINTENANCE_MODE["release"](
        service=incident.service, environment=env, revision=revision, actor=actor,
        reason=f"{reason} [maintenance #{incident.pk} '{incident.name}' completed]"))


AUTO_STARTED = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
AUTO_COMPLETED = "The scheduled maintenance has been completed."


def advance_due(*, now: datetime, actor: Any) -> list[str]:
    """Maintenances with `auto_transition`: start those whose window began, complete those whose window ended.

    Each step goes through `post_update` (its own transaction, audit, links, subscribers); one that fails is
    logged and the rest go on (the next minute tries it again). Returns what was done, for the task's result."""
    from status.services.incidents import post_update

    done: list[str] = []
    S = Incident.Status
    due = (Incident.objects.filter(kind=Incident.Kind.MAINTENANCE, auto_transition=True)
           .filter(Q(status=S.SCHEDULED, scheduled_for__lte=now)
                   | Q(status__in=[S.SCHEDULED, S.IN_PROGRESS, S.VERIFYING], scheduled_until__lte=now))
           .select_related("service").order_by("scheduled_for", "pk"))
    for incident in due:
        assert incident.scheduled_for is not None and incident.scheduled_until is not None  # a maintenance
        ended = incident.scheduled_until <= now
        step, body = (S.COMPLETED, AUTO_COMPLETED) if ended else (S.IN_PROGRESS, AUTO_STARTED)
        when = incident.scheduled_until if ended else incident.scheduled_for
        try:
            with transaction.atomic():
                # Locked and read again: a person (or an overlapping run) who posted first wins; never twice.
                locked = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
                if locked.status != incident.status or locked.scheduled_until != incident.scheduled_until \
                        or locked.scheduled_for != incident.scheduled_for:
                    continue
                post_update(incident=locked, status=step, body=body, actor=actor,
                            reason=f"automatic {'end' if ended else 'start'} of the maintenance window "
                                   f"({when:%Y-%m-%d %H:%M} UTC)")
        except ValidationError as exc:
            log.warning("maintenance #%s '%s': automatic %s refused: %s", incident.pk, incident.name, step,
                        "; ".join(exc.messages))
            continue
        except Exception:  # one maintenance's failure never stops the others; the next minute tries again
            log.exception("maintenance #%s '%s': automatic %s failed", incident.pk, incident.name, step)
            continue
        done.append(f"#{incident.pk} {incident.name}: {step}")
    return done
