"""State changes with the exposure rules, emergency toggles and their expiry."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from flags import expiry, exposure
from flags.models import ChangeRequest, FlagState, Kind, Operation
from flags.services.common import (
    MAINTENANCE,
    Outcome,
    StaleRevision,
    _invalidate,
    next_revision,
)
from flags.services.definitions import _check_bounds, validate_definition
from governance import hooks
from governance.models import Environment, Service
from governance.services import require_reason

log = logging.getLogger("flags")


# --- exposure ----------------------------------------------------------------------------------------


def _normalise(state: FlagState, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an operation against the state and return the fields it sets."""
    flag = state.flag
    if not isinstance(payload, Mapping):
        raise ValidationError({"payload": 'Give a JSON object, e.g. {"enabled": true}.'})
    if operation == Operation.SET_ENABLED:
        if not isinstance(payload.get("enabled"), bool):
            raise ValidationError({"enabled": "Give true or false."})
        return {"enabled": payload["enabled"]}
    if operation == Operation.SET_STRATEGIES:
        fields = {
            "strategies": payload.get("strategies", state.strategies),
            "variants": payload.get("variants", state.variants),
            "dependencies": payload.get("dependencies", state.dependencies),
        }
        validate_definition(flag=flag, number=state.number, **fields)
        return {k: [dict(i) for i in v] for k, v in fields.items()}
    if operation == Operation.SET_NUMBER:
        return {"number": _check_bounds(flag, payload.get("number"), state.number)}
    raise ValidationError(f"Unknown operation {operation!r}.")


def widens_exposure(state: FlagState, fields: Mapping[str, Any]) -> bool:
    """Whether applying `fields` to `state` exposes more (the rules in the module docstring)."""
    flag = state.flag
    if "enabled" in fields:
        if fields["enabled"] == state.enabled:
            return False
        return fields["enabled"] is (not flag.is_inverted)
    if not state.enabled:
        return False  # an off flag exposes nothing whatever its strategies or value
    if "number" in fields:
        if flag.kind == Kind.OPERATIONAL:
            return state.number is None or fields["number"] > state.number
        return fields["number"] != state.number
    old_s, new_s = state.strategies or [], fields.get("strategies", state.strategies) or []
    old_d, new_d = state.dependencies or [], fields.get("dependencies", state.dependencies) or []
    same_variants = exposure._canon(state.variants or []) == exposure._canon(fields.get("variants",
                                                                                       state.variants) or [])
    if flag.is_inverted:  # narrowing a kill switch's audience exposes more
        return not (exposure.strategies_narrower(new_s, old_s) and exposure.dependencies_narrower(new_d, old_d)
                    and same_variants)
    return not (exposure.strategies_narrower(old_s, new_s) and exposure.dependencies_narrower(old_d, new_d)
                and same_variants)


def _lock(state: FlagState) -> FlagState:
    return FlagState.objects.select_for_update().select_related("flag", "flag__service", "environment").get(
        pk=state.pk)


def _apply(state: FlagState, fields: Mapping[str, Any], *, actor: Any, reason: str,
           expires_at: datetime | None = None, revert_to: dict[str, Any] | None = None,
           end_toggle: bool = False) -> FlagState:
    """Write `fields` on a locked state with a new revision (the one place states change)."""
    changed = list(fields)
    for name, value in fields.items():
        setattr(state, name, value)
    if end_toggle or "enabled" in fields or "number" in fields or expires_at is not None:
        # A manual change of what an emergency toggle set ends the toggle; a new toggle sets its own expiry.
        state.expires_at, state.revert_to = expires_at, revert_to
        changed += ["expires_at", "revert_to"]
    state.revision = next_revision()
    state.updated_at = timezone.now()
    state.stamp(actor=actor, reason=reason)
    state.save(update_fields=[*dict.fromkeys(changed), "revision", "updated_at"])
    _invalidate()
    if state.flag.key == MAINTENANCE and "enabled" in fields:
        for hook in hooks.MAINTENANCE_CHANGED:
            hook(service=state.flag.service, environment=state.environment, engaged=bool(state.enabled),
                 actor=actor, reason=reason)
    return state


def change_state(*, state: FlagState, operation: str, payload: Mapping[str, Any], actor: Any, reason: str,
                 expected_revision: int | None = None, break_glass: bool = False,
                 expires_at: datetime | None = None, revert_to: dict[str, Any] | None = None) -> Outcome:
    """Apply one operation now, or turn it into a change request when it widens exposure where needed."""
    reason = require_reason(reason)
    with transaction.atomic():
        state = _lock(state)
        if state.flag.archived_at is not None:
            raise ValidationError(f"{state.flag} is archived.")
        if expected_revision is not None and int(expected_revision) != state.revision:
            raise StaleRevision(f"{state} changed since you loaded it (revision {expected_revision} → "
                                f"{state.revision}); reload and decide again.", current=state.revision)
        # A toggle that has ended (and is already served reverted) is recorded as reverted before the change,
        # so the change is judged against what is served.
        state = _record_revert(state, now=timezone.now()) or state
        fields = _normalise(state, operation, payload)
        if (not break_glass and state.environment.requires_second_person and widens_exposure(state, fields)):
            request = ChangeRequest(state=state, operation=operation, payload=dict(payload),
                                    base_revision=state.revision, author=actor, reason=reason)
            request.stamp(actor=actor, reason=reason)
            request.save()
            return Outcome(state=state, applied=False, change_request=request)
        return Outcome(state=_apply(state, fields, actor=actor, reason=reason, expires_at=expires_at,
                                    revert_to=revert_to), applied=True)


def set_enabled(*, state: FlagState, enabled: bool, actor: Any, reason: str,
                expected_revision: int | None = None) -> Outcome:
    return change_state(state=state, operation=Operation.SET_ENABLED, payload={"enabled": enabled}, actor=actor,
                        reason=reason, expected_revision=expected_revision)


def set_strategies(*, state: FlagState, strategies: Sequence[Mapping[str, Any]], actor: Any, reason: str,
                   variants: Sequence[Mapping[str, Any]] | None = None,
                   dependencies: Sequence[Mapping[str, Any]] | None = None,
                   expected_revision: int | None = None) -> Outcome:
    payload: dict[str, Any] = {"strategies": strategies}
    if variants is not None:
        payload["variants"] = variants
    if dependencies is not None:
        payload["dependencies"] = dependencies
    return change_state(state=state, operation=Operation.SET_STRATEGIES, payload=payload, actor=actor, reason=reason,
                        expected_revision=expected_revision)


def set_number(*, state: FlagState, number: float, actor: Any, reason: str,
               expected_revision: int | None = None) -> Outcome:
    return change_state(state=state, operation=Operation.SET_NUMBER, payload={"number": number}, actor=actor,
                        reason=reason, expected_revision=expected_revision)


# --- emergency toggles -------------------------------------------------------------------------------


def state_for(*, service: Service, environment: Environment, key: str) -> FlagState:
    state = FlagState.objects.select_related("flag", "environment").filter(
        flag__service=service, flag__key=key, environment=environment).first()
    if state is None:
        raise ValidationError(f"{service.slug} has no flag {key!r} in {environment.slug}.")
    return state


def _expiry(expires_in: timedelta | None) -> datetime | None:
    try:
        return expiry.expires_at(expires_in, now=timezone.now())
    except expiry.ExpiryError as exc:
        raise ValidationError({"expires_in": str(exc)}) from None


def engage_kill_switch(*, state: FlagState, actor: Any, reason: str, expires_in: timedelta | None = None,
                       expires_at: datetime | None = None, break_glass: bool = False,
                       expected_revision: int | None = None) -> Outcome:
    """Turn a kill switch on at once (it reduces exposure); with an expiry it turns itself off again."""
    if state.flag.kind != Kind.KILL_SWITCH:
        raise ValidationError(f"{state.flag} is not a kill switch.")
    until = expires_at or _expiry(expires_in)
    return change_state(state=state, operation=Operation.SET_ENABLED, payload={"enabled": True}, actor=actor,
                        reason=reason, break_glass=break_glass, expires_at=until, expected_revision=expected_revision,
                        revert_to={"enabled": False} if until else None)


def disengage_kill_switch(*, state: FlagState, actor: Any, reason: str, break_glass: bool = False,
                          expected_revision: int | None = None) -> Outcome:
    if state.flag.kind != Kind.KILL_SWITCH:
        raise ValidationError(f"{state.flag} is not a kill switch.")
    return change_state(state=state, operation=Operation.SET_ENABLED, payload={"enabled": False}, actor=actor,
                        reason=reason, break_glass=break_glass, expected_revision=expected_revision)


def enter_maintenance(*, service: Service, environment: Environment, actor: Any, reason: str,
                      expires_in: timedelta | None = expiry.DEFAULT_MAINTENANCE, break_glass: bool = False,
                      expected_revision: int | None = None) -> Outcome:
    """Maintenance mode with an expiry (30 minutes unless told otherwise)."""
    state = state_for(service=service, environment=environment, key=MAINTENANCE)
    return engage_kill_switch(state=state, actor=actor, reason=reason, expires_in=expires_in, break_glass=break_glass,
                              expected_revision=expected_revision)


def exit_maintenance(*, service: Service, environment: Environment, actor: Any, reason: str,
                     break_glass: bool = False, expected_revision: int | None = None) -> Outcome:
    state = state_for(service=service, environment=environment, key=MAINTENANCE)
    return disengage_kill_switch(state=state, actor=actor, reason=reason, break_glass=break_glass,
                                 expected_revision=expected_revision)


def _record_revert(state: FlagState, *, now: datetime) -> FlagState | None:
    """Record the revert of a locked state whose toggle has ended at `now` (flags.expiry decides); else None."""
    from governance.services import system_user

    if not expiry.is_due(state.expires_at, state.revert_to, now=now):
        return None
    fields = expiry.restored(state.revert_to)
    expired_at = state.expires_at
    assert expired_at is not None  # is_due
    reverted = _apply(state, fields, actor=system_user(), end_toggle=True,
                      reason=f"expired: emergency toggle set until {expired_at:%Y-%m-%d %H:%M:%S} UTC")
    log.info("flags: %s reverted to %s (expired %s)", state, fields, expired_at.isoformat())
    return reverted


def revert_expired(*, now: datetime | None = None, service_id: int | None = None,
                   environment_id: int | None = None) -> list[FlagState]:
    """Record the revert of every emergency toggle past its expiry (the job; reads already serve it reverted).

    Each revert is its own revision and audit record, so the push plane announces it like any change.
    """
    from governance.services import system_user

    now = now or timezone.now()
    due = FlagState.objects.filter(expires_at__lte=now)
    if service_id is not None:
        due = due.filter(flag__service_id=service_id)
    if environment_id is not None:
        due = due.filter(environment_id=environment_id)
    reverted = []
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            state = FlagState.objects.select_for_update(skip_locked=True).select_related(
                "flag", "environment").filter(pk=pk, expires_at__lte=now).first()
            if state is None:
                continue  # reverted (or being reverted) by another worker
            done = _record_revert(state, now=now)
            if done is None:  # nothing to restore: the toggle simply ends
                done = _apply(state, {}, actor=system_user(), end_toggle=True,
                              reason="expired: emergency toggle without anything to restore")
            reverted.append(done)
    return reverted
