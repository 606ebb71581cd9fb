"""Every state change of flags: each takes `actor` and `reason`, locks what it changes, records both.

Exposure rules (docs/FLAGS.md): a change that reduces exposure (engage a kill switch, enter
maintenance, turn a flag off, narrow a rollout, lower an operational number) applies at once; one
that widens it, in an environment with `requires_second_person`, becomes a ChangeRequest that
someone other than its author approves. Every applied change takes a new revision from one
sequence, so the snapshot revision (the highest of an environment's states) grows on each change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from govctl.constraints import regex_compile
from govctl.evaluation import SnapshotError, State, evaluate

from flags import exposure, snapshots
from flags.models import (
    ChangeRequest,
    FailureMode,
    Flag,
    FlagState,
    Kind,
    Operation,
    ScheduledChange,
    SdkInstance,
    Segment,
    ValueType,
)
from governance.models import Environment, Service
from governance.services import require_reason

log = logging.getLogger("flags")

MAINTENANCE = "maintenance_mode"
KILL_API = "kill_switch_api"
KILL_DATABASE = "kill_switch_database"
RATE_MULTIPLIER = "rate_limit_multiplier"
DEFAULT_MAINTENANCE_EXPIRY = timedelta(minutes=30)

# key, kind, value type, description, enabled, number, bounds (min, max, step)
BUILTIN_FLAGS: list[dict[str, Any]] = [
    {"key": MAINTENANCE, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Maintenance mode: 503 for everyone but staff and health checks."},
    {"key": KILL_API, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Kill switch: the API answers 503."},
    {"key": KILL_DATABASE, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Kill switch: database writes are refused (reads keep working)."},
    {"key": RATE_MULTIPLIER, "kind": Kind.OPERATIONAL, "value_type": ValueType.NUMBER, "enabled": True,
     "number": 1.0, "min_value": 0.1, "max_value": 10.0, "max_step": 2.0,
     "description": "Scales API rate limits (1 = as configured)."},
]

KNOWN_STRATEGIES = {"default", "userWithId", "flexibleRollout", "gradualRolloutRandom", "gradualRolloutUserId",
                    "gradualRolloutSessionId", "remoteAddress", "applicationHostname"}
KNOWN_OPERATORS = {"IN", "NOT_IN", "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "NUM_EQ", "NUM_GT", "NUM_GTE",
                   "NUM_LT", "NUM_LTE", "DATE_AFTER", "DATE_BEFORE", "SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE",
                   "SEMVER_LT", "SEMVER_LTE", "REGEX", "IN_CIDR"}


# simple-history stores the reason in a 100-character column (its default; the core's require_reason allows
# 1000, see the report): reasons this module composes are cut to fit, the full text stays on the request rows.
HISTORY_REASON_MAX = 100


def fit_reason(text: str) -> str:
    return text if len(text) <= HISTORY_REASON_MAX else text[: HISTORY_REASON_MAX - 1] + "…"


class StaleRevision(Exception):
    """The change was based on a revision that is no longer current (answered as 409)."""


@dataclass(frozen=True)
class Outcome:
    state: FlagState
    applied: bool
    change_request: ChangeRequest | None = None

    @property
    def message(self) -> str:
        if self.applied:
            return f"{self.state}: applied (revision {self.state.revision})."
        return (f"{self.state}: widens exposure in {self.state.environment.slug}; change request "
                f"#{self.change_request.pk} waits for a second person's approval.")  # type: ignore[union-attr]


def next_revision() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('flags_revision_seq')")
        return int(cursor.fetchone()[0])


def _invalidate() -> None:
    from flags import delivery

    # Now for this process (what it serves next), and again after commit for every process: a
    # snapshot rebuilt by another process before our commit would otherwise be cached stale.
    delivery.invalidate()
    transaction.on_commit(delivery.invalidate)


# --- flags ------------------------------------------------------------------------------------------

def _validate_flag_fields(flag: Flag) -> None:
    if flag.value_type != ValueType.NUMBER and any(v is not None for v in (flag.min_value, flag.max_value,
                                                                           flag.max_step)):
        raise ValidationError({"min_value": "Bounds and max step apply to number flags only."})
    if flag.min_value is not None and flag.max_value is not None and flag.min_value > flag.max_value:
        raise ValidationError({"min_value": f"The minimum {flag.min_value} is above the maximum {flag.max_value}."})


@transaction.atomic
def create_flag(*, service: Service, key: str, actor: Any, reason: str, kind: str = Kind.RELEASE,
                value_type: str = ValueType.BOOLEAN, owner: str = "", description: str = "",
                expected_lifetime_days: int | None = 90, failure_mode: str = FailureMode.LAST_KNOWN_GOOD,
                min_value: float | None = None, max_value: float | None = None, max_step: float | None = None,
                number: float | None = None, enabled: bool = False, is_builtin: bool = False) -> Flag:
    """A flag with an (off) state in every environment."""
    reason = require_reason(reason)
    if Flag.objects.filter(service=service, key=key).exists():
        raise ValidationError({"key": f"Service '{service.slug}' already has a flag '{key}'."})
    flag = Flag(service=service, key=key, kind=kind, value_type=value_type, owner=owner, description=description,
                expected_lifetime_days=expected_lifetime_days, failure_mode=failure_mode, min_value=min_value,
                max_value=max_value, max_step=max_step, is_builtin=is_builtin)
    flag.full_clean(validate_constraints=False)
    _validate_flag_fields(flag)
    if number is not None:
        _check_bounds(flag, number, None)
    flag.stamp(actor=actor, reason=reason)
    flag.save()
    for environment in Environment.objects.all():
        state = FlagState(flag=flag, environment=environment, enabled=enabled, number=number,
                          revision=next_revision())
        state.stamp(actor=actor, reason=reason)
        state.save()
    _invalidate()
    return flag


@transaction.atomic
def update_flag(*, flag: Flag, actor: Any, reason: str, **fields: Any) -> Flag:
    """Change a flag's definition (owner, description, lifetime, failure mode, bounds)."""
    allowed = {"owner", "description", "expected_lifetime_days", "failure_mode", "min_value", "max_value",
               "max_step", "kind"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    if flag.is_builtin and "kind" in fields and fields["kind"] != flag.kind:
        raise ValidationError({"kind": "The kind of a built-in flag is fixed."})
    for name, value in fields.items():
        setattr(flag, name, value)
    flag.full_clean(validate_constraints=False)
    _validate_flag_fields(flag)
    flag.stamp(actor=actor, reason=require_reason(reason))
    flag.save(update_fields=list(fields) or None)
    _bump_states(flag.states.all(), actor=actor, reason=reason)
    return flag


def _bump_states(states: Any, *, actor: Any, reason: str) -> None:
    """A definition change shows in every environment's snapshot: give each state a new revision."""
    for state in states.select_for_update():
        state.revision = next_revision()
        state.updated_at = timezone.now()
        state.stamp(actor=actor, reason=require_reason(reason))
        state.save(update_fields=["revision", "updated_at"])
    _invalidate()


@transaction.atomic
def archive_flag(*, flag: Flag, actor: Any, reason: str) -> Flag:
    """Take a flag out of every snapshot; SDKs then answer it from their defaults."""
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    if flag.is_builtin:
        raise ValidationError("Built-in operational flags cannot be archived.")
    if flag.archived_at is not None:
        raise ValidationError(f"{flag} was archived on {flag.archived_at:%Y-%m-%d}.")
    dependants = FlagState.objects.filter(flag__service=flag.service, flag__archived_at__isnull=True,
                                          dependencies__contains=[{"feature": flag.key}]).exclude(flag=flag)
    if dependants.exists():
        names = sorted({str(s.flag.key) for s in dependants.select_related("flag")})
        raise ValidationError(f"Flags {', '.join(names)} depend on {flag.key}: remove the dependency first.")
    flag.archived_at = timezone.now()
    flag.stamp(actor=actor, reason=require_reason(reason))
    flag.save(update_fields=["archived_at"])
    _bump_states(flag.states.all(), actor=actor, reason=reason)
    return flag


def ensure_builtin_flags(*, service: Service, actor: Any, reason: str) -> list[Flag]:
    """The operational flags every service has (run when a service is created); idempotent."""
    created = []
    for spec in BUILTIN_FLAGS:
        if Flag.objects.filter(service=service, key=spec["key"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k != "key"}
        created.append(create_flag(service=service, key=spec["key"], actor=actor, reason=reason,
                                   expected_lifetime_days=None, is_builtin=True, owner="operations", **fields))
    return created


def on_service_created(*, service: Service, actor: Any, reason: str) -> None:
    ensure_builtin_flags(service=service, actor=actor, reason=fit_reason(f"built-in flags: {reason}"))


# --- validation -------------------------------------------------------------------------------------

def _require_list_of_objects(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ValidationError({field: "Give a JSON list of objects."})
    return [dict(item) for item in value]


def _validate_constraints(constraints: Any, where: str) -> None:
    for constraint in _require_list_of_objects(constraints, "strategies"):
        operator = constraint.get("operator")
        if operator not in KNOWN_OPERATORS:
            raise ValidationError({"strategies": f"{where}: unknown constraint operator {operator!r}."})
        if not isinstance(constraint.get("contextName"), str) or not constraint["contextName"]:
            raise ValidationError({"strategies": f"{where}: each constraint needs a 'contextName'."})
        if operator == "REGEX":
            patterns = [constraint.get("value")] if constraint.get("value") else list(constraint.get("values") or [])
            for pattern in patterns:
                if not isinstance(pattern, str) or regex_compile(pattern, False) is None:
                    raise ValidationError({"strategies": f"{where}: {pattern!r} is not a valid (RE2) regular "
                                                         "expression."})


def _validate_variants(flag: Flag, variants: list[dict[str, Any]], where: str) -> None:
    names = [v.get("name") for v in variants]
    if any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
        raise ValidationError({"variants": f"{where}: variants need unique, non-empty names."})
    for variant in variants:
        weight = variant.get("weight", 0)
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 1000:
            raise ValidationError({"variants": f"{where}: variant {variant['name']!r} weight must be 0..1000."})
        payload = variant.get("payload")
        if payload is None:
            continue
        if not isinstance(payload, Mapping) or payload.get("type") not in ("string", "json", "number", "csv"):
            raise ValidationError({"variants": f"{where}: variant {variant['name']!r} payload needs a type "
                                               "(string, json, number or csv) and a value."})
        if flag.value_type == ValueType.NUMBER and payload.get("type") != "number":
            raise ValidationError({"variants": f"{where}: a number flag's payloads must be numbers."})
        if flag.value_type == ValueType.JSON and payload.get("type") != "json":
            raise ValidationError({"variants": f"{where}: a JSON flag's payloads must be JSON."})


def validate_definition(*, flag: Flag, strategies: Any, variants: Any, dependencies: Any,
                        number: float | None = None) -> None:
    """Refuse what SDKs could not evaluate; the real evaluator compiles a one-flag snapshot."""
    strategies = _require_list_of_objects(strategies, "strategies")
    variants = _require_list_of_objects(variants, "variants")
    dependencies = _require_list_of_objects(dependencies, "dependencies")
    segment_ids: set[Any] = set()
    for index, strategy in enumerate(strategies, start=1):
        where = f"strategy #{index}"
        if strategy.get("name") not in KNOWN_STRATEGIES:
            raise ValidationError({"strategies": f"{where}: unknown strategy {strategy.get('name')!r}; known: "
                                                 f"{', '.join(sorted(KNOWN_STRATEGIES))}."})
        if not isinstance(strategy.get("parameters") or {}, Mapping):
            raise ValidationError({"strategies": f"{where}: 'parameters' must be an object."})
        params = strategy.get("parameters") or {}
        for field in ("rollout", "percentage"):
            if field in params:
                try:
                    percent = float(str(params[field]))
                except ValueError:
                    percent = -1
                if not 0 <= percent <= 100:
                    raise ValidationError({"strategies": f"{where}: {field} must be a number from 0 to 100."})
        _validate_constraints(strategy.get("constraints") or [], where)
        _validate_variants(flag, _require_list_of_objects(strategy.get("variants") or [], "strategies"), where)
        segment_ids |= set(strategy.get("segments") or [])
    _validate_variants(flag, variants, "feature variants")
    known_segments = {s.pk: s for s in Segment.objects.filter(pk__in=[i for i in segment_ids if isinstance(i, int)])}
    missing = [s for s in segment_ids if s not in known_segments]
    if missing:
        raise ValidationError({"strategies": f"Unknown segment id(s): {', '.join(map(str, missing))}."})
    for dependency in dependencies:
        parent_key = dependency.get("feature")
        if parent_key == flag.key:
            raise ValidationError({"dependencies": "A flag cannot depend on itself."})
        parent = Flag.objects.filter(service_id=flag.service_id, key=parent_key, archived_at__isnull=True).first()
        if parent is None:
            raise ValidationError({"dependencies": f"No active flag {parent_key!r} in {flag.service}."})
        if FlagState.objects.filter(flag=parent).exclude(dependencies=[]).exists():
            raise ValidationError({"dependencies": f"{parent_key!r} depends on other flags itself; "
                                                   "only one level of dependency is evaluated."})
    probe = FlagState(flag=flag, enabled=True, strategies=strategies, variants=variants, dependencies=dependencies,
                      number=number)
    body = {"version": 2, "features": [snapshots.feature(flag, probe)],
            "segments": [snapshots.segment_dict(s) for s in known_segments.values()]}
    try:
        state = State(body)
        evaluate(state, flag.key, {"userId": "probe", "properties": {}})
    except SnapshotError as exc:
        raise ValidationError({"strategies": str(exc)}) from None


def _check_bounds(flag: Flag, number: Any, current: float | None) -> float:
    if flag.value_type != ValueType.NUMBER:
        raise ValidationError({"number": f"{flag.key} is a {flag.value_type} flag, not a number flag."})
    try:
        value = float(number)
    except (TypeError, ValueError):
        raise ValidationError({"number": f"{number!r} is not a number."}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError({"number": "Give a finite number."})
    if flag.min_value is not None and value < flag.min_value:
        raise ValidationError({"number": f"{flag.key} must be at least {flag.min_value:g} (got {value:g})."})
    if flag.max_value is not None and value > flag.max_value:
        raise ValidationError({"number": f"{flag.key} must be at most {flag.max_value:g} (got {value:g})."})
    if flag.max_step is not None and current is not None and abs(value - current) > flag.max_step + 1e-9:
        raise ValidationError({"number": f"{flag.key} may change by at most {flag.max_step:g} at a time "
                                         f"({current:g} → {value:g} is {abs(value - current):g}); "
                                         "change it in steps."})
    return value


# --- exposure ----------------------------------------------------------------------------------------

def _normalise(state: FlagState, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an operation against the state and return the fields it sets."""
    flag = state.flag
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
                                f"{state.revision}); reload and decide again.")
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
    if expires_in is None:
        return None
    if expires_in <= timedelta(0):
        raise ValidationError({"expires_in": "The expiry must be in the future."})
    if expires_in > timedelta(days=30):
        raise ValidationError({"expires_in": "Emergency toggles expire within 30 days."})
    return timezone.now() + expires_in


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
                      expires_in: timedelta | None = DEFAULT_MAINTENANCE_EXPIRY, break_glass: bool = False,
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


def revert_expired(*, now: datetime | None = None, service_id: int | None = None,
                   environment_id: int | None = None) -> list[FlagState]:
    """Revert every emergency toggle past its expiry (the job, and the snapshot build at read time)."""
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
            fields = {k: v for k, v in (state.revert_to or {}).items() if k in ("enabled", "number")}
            expired_at = state.expires_at
            reverted.append(_apply(state, fields, actor=system_user(), end_toggle=True,
                                   reason=f"expired: emergency toggle set until {expired_at:%Y-%m-%d %H:%M:%S} UTC"))
            log.info("flags: %s reverted to %s (expired %s)", state, fields, expired_at.isoformat())
    return reverted


# --- change requests and scheduled changes ------------------------------------------------------------

def _not_the_author(author_id: int, actor: Any, what: str) -> None:
    if getattr(actor, "pk", None) == author_id:
        raise ValidationError(f"The author of {what} cannot approve it: ask someone else.")


def approve_change_request(*, change_request: ChangeRequest, actor: Any, reason: str) -> ChangeRequest:
    """Apply a pending request atomically; refused when its author approves or the flag changed since."""
    reason = require_reason(reason)
    stale_message = ""
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if request.status != ChangeRequest.Status.PENDING:
            raise ValidationError(f"Change request #{request.pk} is {request.status}, not pending.")
        _not_the_author(request.author_id, actor, f"change request #{request.pk}")
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
    _not_the_author(change.author_id, actor, "a scheduled change")
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


# --- segments ------------------------------------------------------------------------------------------

@transaction.atomic
def save_segment(*, segment: Segment, actor: Any, reason: str) -> Segment:
    """Create or change a segment; every state that uses it gets a new revision."""
    _validate_constraints(segment.constraints, f"segment {segment.name!r}")
    segment.full_clean()
    segment.stamp(actor=actor, reason=require_reason(reason))
    segment.save()
    users = [s.pk for s in FlagState.objects.exclude(strategies=[]).only("pk", "strategies")
             if any(segment.pk in (st.get("segments") or []) for st in s.strategies)]
    _bump_states(FlagState.objects.filter(pk__in=users), actor=actor, reason=reason)
    return segment


# --- SDK telemetry -------------------------------------------------------------------------------------

def record_sdk_heartbeat(*, instance_id: str, service: Service, environment: Environment, revision: int | None,
                         sdk_version: str = "") -> SdkInstance:
    """Telemetry, deliberately outside the audit trail."""
    instance, _ = SdkInstance.objects.update_or_create(
        instance_id=instance_id, service=service, environment=environment,
        defaults={"revision": revision, "sdk_version": sdk_version[:50], "last_seen": timezone.now()},
    )
    return instance
