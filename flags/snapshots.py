"""Snapshot bodies in the Unleash client-API format, built from the database.

`{version: 2, features, segments}` plus the portal's `revision`, `generated_at`, `service`,
`environment`, `faults` (active chaos faults; apps add members through hooks.SNAPSHOT_MEMBERS) and, per
feature, `failureMode` and `valueType` (what govctl's SDK reads). The
signature is added by `flags.delivery` after break-glass overrides are applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from flags import expiry
from flags.models import Flag, FlagState, Kind, Segment, ValueType
from governance import hooks
from governance.models import Environment, Service

UNLEASH_TYPES: dict[str, str] = {
    Kind.RELEASE: "release", Kind.EXPERIMENT: "experiment", Kind.OPERATIONAL: "operational",
    Kind.KILL_SWITCH: "kill-switch", Kind.PERMISSION: "permission",
}
NUMBER_VARIANT = "value"


def number_variant(number: float) -> dict[str, Any]:
    """The one variant that carries a number flag's value (a float, so OFREP clients get a float)."""
    return {"name": NUMBER_VARIANT, "weight": 1000, "weightType": "variable", "stickiness": "default",
            "payload": {"type": "number", "value": repr(float(number))}}


def feature(flag: Flag, state: FlagState, *, enabled: bool | None = None, number: float | None = None) -> dict[str, Any]:
    """One feature as SDKs read it; `enabled`/`number` override the state's (expiry reverts)."""
    on = state.enabled if enabled is None else enabled
    value = state.number if number is None else number
    variants = list(state.variants or [])
    if flag.value_type == ValueType.NUMBER and value is not None:
        variants = [number_variant(value)]
    return {
        "name": flag.key,
        "type": UNLEASH_TYPES.get(flag.kind, "release"),
        "description": flag.description,
        "project": flag.service.slug if flag.service_id else "default",
        "enabled": bool(on),
        "stale": False,
        "impressionData": False,
        "strategies": [dict(s) for s in state.strategies or []],
        "variants": variants,
        "dependencies": [dict(d) for d in state.dependencies or []],
        "failureMode": flag.failure_mode,
        "valueType": flag.value_type,
    }


def segment_dict(segment: Segment) -> dict[str, Any]:
    return {"id": segment.pk, "name": segment.name, "constraints": list(segment.constraints or [])}


def referenced_segment_ids(features: list[dict[str, Any]]) -> set[int]:
    ids: set[int] = set()
    for item in features:
        for strategy in item.get("strategies") or ():
            for segment_id in strategy.get("segments") or ():
                if isinstance(segment_id, int):
                    ids.add(segment_id)
    return ids


def extra_members(service: Service, environment: Environment, *, now: datetime) -> tuple[dict[str, Any], int]:
    """Other apps' members of the snapshot (hooks.SNAPSHOT_MEMBERS: chaos's `faults`) and what they add to its
    revision: the one place the served revision's extra part is computed (the build, flags.queries)."""
    extra: dict[str, Any] = {}
    revision = 0
    for contribute in hooks.SNAPSHOT_MEMBERS:
        members, bump = contribute(service=service, environment=environment, now=now)
        extra.update(members)
        revision += bump
    return extra, revision


def build(service: Service, environment: Environment, *, now: datetime | None = None) -> dict[str, Any]:
    """The unsigned body and the future expiries (so caches know when to look again)."""
    now = now or timezone.now()
    states = list(
        FlagState.objects.filter(flag__service=service, environment=environment)
        .select_related("flag", "flag__service").order_by("flag__key")
    )
    features = []
    expiries = []
    for state in states:
        if state.flag.archived_at is not None:
            continue
        served = expiry.effective(state, now=now)  # an ended toggle serves what it restores, recorded or not
        features.append(feature(state.flag, state, enabled=served["enabled"], number=served["number"]))
        if state.expires_at is not None and expiry.pending(state, now=now):
            expiries.append({"feature": state.flag.key, "at": state.expires_at.isoformat(),
                             "revert_to": expiry.restored(state.revert_to)})
    wanted = referenced_segment_ids(features)
    segments = [segment_dict(s) for s in Segment.objects.filter(pk__in=wanted).order_by("pk")] if wanted else []
    revision = max((s.revision for s in states), default=0)  # archived flags' states count: archiving bumps them
    members, bump = extra_members(service, environment, now=now)
    revision += bump
    extra: dict[str, Any] = {"faults": [], **members}
    body = {
        "version": 2,
        "service": service.slug,
        "environment": environment.slug,
        "revision": revision,
        "generated_at": now.isoformat(),
        "features": features,
        "segments": segments,
        **extra,
    }
    return {"body": body, "expiries": expiries, "service_id": service.pk, "environment_id": environment.pk}
