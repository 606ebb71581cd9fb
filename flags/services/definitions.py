"""Flag definitions: create, change, archive, validate; built-in flags; segments; SDK telemetry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from govctl.flags.constraints import regex_compile
from govctl.flags.evaluation import SnapshotError, State, evaluate

from flags import snapshots
from flags.models import FailureMode, Flag, FlagState, Kind, SdkInstance, SdkReceipt, Segment, ValueType
from flags.services.common import (
    BUILTIN_FLAGS,
    KNOWN_OPERATORS,
    KNOWN_STRATEGIES,
    _invalidate,
    fit_reason,
    next_revision,
)
from governance.models import Environment, Service
from governance.services import require_reason

# --- flags ------------------------------------------------------------------------------------------


MAX_LIFETIME_DAYS = 100 * 365  # beyond the calendar the stale check (created_at + lifetime) cannot compute


def _validate_flag_fields(flag: Flag) -> None:
    if flag.expected_lifetime_days is not None and flag.expected_lifetime_days > MAX_LIFETIME_DAYS:
        raise ValidationError({"expected_lifetime_days": f"At most {MAX_LIFETIME_DAYS} days; leave it empty for a "
                                                         "permanent flag."})
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
        if not isinstance(operator, str) or operator not in KNOWN_OPERATORS:
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
        if not isinstance(strategy.get("name"), str) or strategy["name"] not in KNOWN_STRATEGIES:
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
        segments = strategy.get("segments") or []
        if not isinstance(segments, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in segments):
            raise ValidationError({"strategies": f"{where}: 'segments' must be a list of segment ids."})
        segment_ids |= set(segments)
    _validate_variants(flag, variants, "feature variants")
    known_segments = {s.pk: s for s in Segment.objects.filter(pk__in=[i for i in segment_ids if isinstance(i, int)])}
    missing = [s for s in segment_ids if s not in known_segments]
    if missing:
        raise ValidationError({"strategies": f"Unknown segment id(s): {', '.join(map(str, missing))}."})
    for dependency in dependencies:
        parent_key = dependency.get("feature")
        if not isinstance(parent_key, str) or not parent_key:
            raise ValidationError({"dependencies": "Each dependency needs a 'feature' (the parent flag's key)."})
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


# --- segments ------------------------------------------------------------------------------------------


@transaction.atomic
def save_segment(*, segment: Segment, actor: Any, reason: str) -> Segment:
    """Create or change a segment; every state that uses it gets a new revision."""
    _validate_constraints(segment.constraints, f"segment {segment.name!r}")
    # What only the evaluator checks (e.g. "values" must be a list): a bad segment would break every snapshot
    # that uses it, so compile it as SDKs will.
    probe = {"version": 2, "segments": [{"id": 0, "constraints": segment.constraints}],
             "features": [{"name": "segment-probe", "enabled": True,
                           "strategies": [{"name": "default", "segments": [0]}]}]}
    try:
        State(probe)
    except SnapshotError as exc:
        raise ValidationError({"constraints": f"segment {segment.name!r}: the evaluator rejects it ({exc})."}) from None
    segment.full_clean()
    segment.stamp(actor=actor, reason=require_reason(reason))
    segment.save()
    users = [s.pk for s in FlagState.objects.exclude(strategies=[]).only("pk", "strategies")
             if any(segment.pk in (st.get("segments") or []) for st in s.strategies)]
    _bump_states(FlagState.objects.filter(pk__in=users), actor=actor, reason=reason)
    return segment


# --- SDK telemetry -------------------------------------------------------------------------------------


def record_sdk_heartbeat(*, instance_id: str, service: Service, environment: Environment, revision: int | None,
                         sdk_version: str = "", capabilities: list[str] | None = None) -> SdkInstance:
    """Telemetry, deliberately outside the audit trail; a new revision also leaves a propagation receipt."""
    previous = (SdkInstance.objects.filter(instance_id=instance_id, service=service, environment=environment)
                .values_list("revision", flat=True).first())
    if revision is not None and revision != previous:
        SdkReceipt.objects.create(instance_id=instance_id, service=service, environment=environment, revision=revision)
    instance, _ = SdkInstance.objects.update_or_create(
        instance_id=instance_id, service=service, environment=environment,
        defaults={"revision": revision, "sdk_version": sdk_version[:50], "last_seen": timezone.now(),
                  "capabilities": sorted(set(capabilities or ()))[:20]},
    )
    return instance


def purge_sdk_instances(*, now: datetime | None = None, batch: int = 5_000) -> int:
    """Forget SDK instances silent for FLAGS_INSTANCE_RETENTION_DAYS (telemetry: every pod restart adds one).

    Deletes in batches so a first run over a large backlog never holds long locks; returns the count.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.FLAGS_INSTANCE_RETENTION_DAYS)
    while True:  # receipts age out with the instances (not counted: they are the instances' detail)
        ids = list(SdkReceipt.objects.filter(applied_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        SdkReceipt.objects.filter(pk__in=ids).delete()
    deleted = 0
    while True:
        ids = list(SdkInstance.objects.filter(last_seen__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += SdkInstance.objects.filter(pk__in=ids).delete()[0]
