"""Change requests (a second person approves) and scheduled changes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags.models import ChangeRequest, FlagState, ScheduledChange
from flags.services.changes import _apply, _lock, _normalise, widens_exposure
from flags.services.common import fit_reason
from governance.services import require_reason, require_second_person

log = logging.getLogger("flags")


# --- change requests and scheduled changes ------------------------------------------------------------


def _not_the_author(author: Any, actor: Any, what: str) -> None:
    require_second_person(author=author, actor=actor, what=what)


def approve_change_request(*, change_request: ChangeRequest, actor: Any, reason: str) -> ChangeRequest:
    """Apply a pending request atomically; refused when its author approves or the flag changed since."""
    reason = require_reason(reason)
    stale_message = ""
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if request.status != ChangeRequest.Status.PENDING:
            raise ValidationError(f"Change request #{request.pk} is {request.status}, not pending.")
        _not_the_author(request.author, actor, f"change request #{request.pk}")
        state = _lock(request.state)
        request.decided_by, request.decided_at = actor, timezone.now()
        if state.revision != request.base_revision:
            stale_message = (f"{state} changed since the request was made (revision {request.base_revision} → "
                             f"{state.revision}); propose it again.")
            request.status, request.message = ChangeRequest.Status.FAILED, stale_message
        else:
            fields = _normalise(state, request.operation, request.payload)
            _apply(state, fields, actor=actor, reason=fit_reason(
                f"change request #{request.pk} by {request.author}, approved: {reason} / {request.reason}"))
            request.status, request.message = ChangeRequest.Status.APPLIED, f"applied as revision {state.revision}"
        request.stamp(actor=actor, reason=reason)
        request.save(update_fields=["status", "decided_by", "decided_at", "message"])
    if stale_message:
        raise ValidationError(stale_message)
    return request


@transaction.atomic
def reject_change_request(*, change_request: ChangeRequest, actor: Any, reason: str) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if request.status != ChangeRequest.Status.PENDING:
        raise ValidationError(f"Change request #{request.pk} is {request.status}, not pending.")
    request.status, request.decided_by, request.decided_at = ChangeRequest.Status.REJECTED, actor, timezone.now()
    request.message = require_reason(reason)
    request.stamp(actor=actor, reason=reason)
    request.save(update_fields=["status", "decided_by", "decided_at", "message"])
    return request


@transaction.atomic
def schedule_change(*, state: FlagState, operation: str, payload: Mapping[str, Any], run_at: datetime, actor: Any,
                    reason: str) -> ScheduledChange:
    """Plan a change; one that widens exposure where a second person is needed waits for approval."""
    if run_at <= timezone.now():
        raise ValidationError({"run_at": "Pick a time in the future (or change the flag now)."})
    state = _lock(state)
    fields = _normalise(state, operation, payload)
    needs_approval = state.environment.requires_second_person and widens_exposure(state, fields)
    change = ScheduledChange(state=state, operation=operation, payload=dict(payload), run_at=run_at,
                             base_revision=state.revision, author=actor, reason=require_reason(reason),
                             status=ScheduledChange.Status.AWAITING_APPROVAL if needs_approval
                             else ScheduledChange.Status.SCHEDULED)
    change.stamp(actor=actor, reason=reason)
    change.save()
    return change


@transaction.atomic
def approve_scheduled_change(*, change: ScheduledChange, actor: Any, reason: str) -> ScheduledChange:
    change = ScheduledChange.objects.select_for_update().get(pk=change.pk)
    if change.status != ScheduledChange.Status.AWAITING_APPROVAL:
        raise ValidationError(f"{change} is {change.get_status_display()}, not awaiting approval.")
    _not_the_author(change.author, actor, "a scheduled change")
    change.status, change.approved_by = ScheduledChange.Status.SCHEDULED, actor
    change.stamp(actor=actor, reason=require_reason(reason))
    change.save(update_fields=["status", "approved_by"])
    return change


@transaction.atomic
def cancel_scheduled_change(*, change: ScheduledChange, actor: Any, reason: str) -> ScheduledChange:
    change = ScheduledChange.objects.select_for_update().get(pk=change.pk)
    if change.status not in (ScheduledChange.Status.SCHEDULED, ScheduledChange.Status.AWAITING_APPROVAL):
        raise ValidationError(f"{change} is {change.get_status_display()}: nothing to cancel.")
    change.status, change.message = ScheduledChange.Status.CANCELLED, require_reason(reason)
    change.stamp(actor=actor, reason=reason)
    change.save(update_fields=["status", "message"])
    return change


def apply_due_scheduled_changes(*, now: datetime | None = None) -> list[ScheduledChange]:
    """Run the changes whose time has come; each fails loudly if the flag changed since it was planned."""
    from governance.services import system_user

    now = now or timezone.now()
    done = []
    due = ScheduledChange.objects.filter(run_at__lte=now, status__in=[ScheduledChange.Status.SCHEDULED,
                                                                      ScheduledChange.Status.AWAITING_APPROVAL])
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            change = ScheduledChange.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if change is None or change.status not in (ScheduledChange.Status.SCHEDULED,
                                                       ScheduledChange.Status.AWAITING_APPROVAL):
                continue
            state = _lock(change.state)
            failure = ""
            if change.status == ScheduledChange.Status.AWAITING_APPROVAL:
                failure = "nobody but its author approved it before its time"
            elif state.revision != change.base_revision:
                failure = (f"the flag changed since the change was planned (revision {change.base_revision} → "
                           f"{state.revision})")
            if not failure:
                try:
                    fields = _normalise(state, change.operation, change.payload)
                except ValidationError as exc:
                    failure = "; ".join(exc.messages)
            if failure:
                log.error("flags: scheduled change #%s on %s FAILED: %s", change.pk, state, failure)
                change.status, change.message = ScheduledChange.Status.FAILED, failure
            else:
                _apply(state, fields, actor=change.author,
                       reason=fit_reason(f"scheduled change #{change.pk}: {change.reason}"))
                change.status = ScheduledChange.Status.APPLIED
                change.message = f"applied as revision {state.revision}"
            change.stamp(actor=system_user(), reason=f"scheduled change at {now:%Y-%m-%d %H:%M} UTC")
            change.save(update_fields=["status", "message"])
            done.append(change)
    return done
