"""Change requests (a second person approves) and scheduled changes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags import states
from flags.models import ChangeRequest, FlagState, ScheduledChange
from flags.services.changes import _apply, _lock, _normalise, widens_exposure
from flags.services.common import fit_reason
from governance.services import require_reason, require_second_person

log = logging.getLogger("flags")


# --- change requests and scheduled changes ------------------------------------------------------------


def _label(request: ChangeRequest) -> str:
    return f"Change request #{request.pk}"


def _not_the_author(author: Any, actor: Any, what: str) -> None:
    require_second_person(author=author, actor=actor, what=what)


def approve_change_request(*, change_request: ChangeRequest, actor: Any, reason: str) -> ChangeRequest:
    """Apply a pending request atomically; refused when its author approves or the flag changed since."""
    reason = require_reason(reason)
    stale_message = ""
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        states.CHANGE_REQUEST.check(request, ChangeRequest.Status.APPLIED, label=_label(request))
        _not_the_author(request.author, actor, f"change request #{request.pk}")
        state = _lock(request.state)
        decided = {"decided_by": actor, "decided_at": timezone.now()}
        if state.revision != request.base_revision:
            stale_message = (f"{state} changed since the request was made (revision {request.base_revision} → "
                             f"{state.revision}); propose it again.")
            states.CHANGE_REQUEST.apply(request, ChangeRequest.Status.FAILED, actor=actor, reason=reason,
                                        label=_label(request), changes={**decided, "message": stale_message})
        else:
            fields = _normalise(state, request.operation, request.payload)
            _apply(state, fields, actor=actor, reason=fit_reason(
                f"change request #{request.pk} by {request.author}, approved: {reason} / {request.reason}"))
            states.CHANGE_REQUEST.apply(request, ChangeRequest.Status.APPLIED, actor=actor, reason=reason,
                                        label=_label(request),
                                        changes={**decided, "message": f"applied as revision {state.revision}"})
    if stale_message:
        raise ValidationError(stale_message)
    return request


@transaction.atomic
def reject_change_request(*, change_request: ChangeRequest, actor: Any, reason: str) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    states.CHANGE_REQUEST.apply(request, ChangeRequest.Status.REJECTED, actor=actor, reason=reason,
                                label=_label(request), changes={"decided_by": actor, "decided_at": timezone.now(),
                                                                "message": require_reason(reason)})
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
    states.SCHEDULED_CHANGE.check(change, ScheduledChange.Status.SCHEDULED)
    _not_the_author(change.author, actor, "a scheduled change")
    states.SCHEDULED_CHANGE.apply(change, ScheduledChange.Status.SCHEDULED, actor=actor, reason=reason,
                                  changes={"approved_by": actor})
    return change


@transaction.atomic
def cancel_scheduled_change(*, change: ScheduledChange, actor: Any, reason: str) -> ScheduledChange:
    change = ScheduledChange.objects.select_for_update().get(pk=change.pk)
    states.SCHEDULED_CHANGE.apply(change, ScheduledChange.Status.CANCELLED, actor=actor, reason=reason,
                                  changes={"message": require_reason(reason)})
    return change


def apply_due_scheduled_changes(*, now: datetime | None = None) -> list[ScheduledChange]:
    """Run the changes whose time has come; each fails loudly if the flag changed since it was planned."""
    from governance.services import system_user

    now = now or timezone.now()
    done = []
    due = ScheduledChange.objects.filter(run_at__lte=now, status__in=states.DUE)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            change = ScheduledChange.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if change is None or change.status not in states.DUE:
                continue  # decided meanwhile
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
                to, message = ScheduledChange.Status.FAILED, failure
            else:
                _apply(state, fields, actor=change.author,
                       reason=fit_reason(f"scheduled change #{change.pk}: {change.reason}"))
                to, message = ScheduledChange.Status.APPLIED, f"applied as revision {state.revision}"
            states.SCHEDULED_CHANGE.apply(change, to, actor=system_user(), changes={"message": message},
                                          reason=f"scheduled change at {now:%Y-%m-%d %H:%M} UTC")
            done.append(change)
    return done
