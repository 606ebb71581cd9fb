"""What happened around a moment: the audit trail merged with the records apps add (governance.hooks
.TIMELINE_EVENTS), each entry with a kind a person scans for ("deployment", "flag", "schema plan", "alert", "drill",
"incident", "change"). Reads only; the post-incident review draft (status.review) is its first reader."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from governance import hooks
from governance.models import AuditEvent

# app_label.model of the audit trail -> the kind of change a reviewer looks for
KINDS = {
    "releases.deployment": "deployment", "releases.release": "deployment", "releases.approval": "deployment",
    "releases.freezeoverride": "deployment",
    "flags.flagstate": "flag", "flags.flag": "flag", "flags.scheduledchange": "flag", "flags.changerequest": "flag",
    "flags.segment": "flag",
    "schemaplans.schemaplan": "schema plan", "schemaplans.backfill": "schema plan",
    "observability.sloalert": "alert", "observability.errorbudgetoverride": "alert",
    "recovery.backuptarget": "drill",
    "status.incident": "incident", "status.incidentupdate": "incident",
}
CHANGE_WORD = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    what: str
    who: str
    reason: str
    source: str = "audit"
    change: str = "changed"  # created / changed / deleted (records from other apps: what happened to them)


def _what(event: AuditEvent) -> str:
    label = event.model.split(".", 1)[1]
    text = f"{label} {event.object_repr} {CHANGE_WORD.get(event.change, event.change)}"
    fields = []
    for change in event.changes or []:
        if not isinstance(change, dict) or change.get("field") in (None, "updated_at", "state_changed_at"):
            continue
        old = change.get("old_label", change.get("old"))
        new = change.get("new_label", change.get("new"))
        fields.append(f"{change['field']}: {_short(old)} → {_short(new)}" if event.change == "~"
                      else f"{change['field']}={_short(new)}")
    if fields:
        text += " (" + "; ".join(fields[:4]) + (", …" if len(fields) > 4 else "") + ")"
    return text


def _short(value: object) -> str:
    text = "∅" if value in (None, "") else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def audit_entries(*, start: datetime, end: datetime, service_id: int | None) -> list[Entry]:
    """Changes of the service (and portal-wide ones, which have no service) in [start, end]."""
    scope = Q(service_id=service_id) | Q(service__isnull=True) if service_id is not None else Q()
    rows = (AuditEvent.objects.filter(scope, at__gte=start, at__lte=end, model__in=list(KINDS))
            .order_by("at", "id")[:2000])
    return [Entry(e.at, KINDS[e.model], _what(e), e.actor_name or "—", e.reason,
                  change=CHANGE_WORD.get(e.change, e.change)) for e in rows]


def entries(*, start: datetime, end: datetime, service_id: int | None) -> list[Entry]:
    found: list[Entry] = audit_entries(start=start, end=end, service_id=service_id)
    for provider in hooks.TIMELINE_EVENTS:
        found.extend(provider(start=start, end=end, service_id=service_id))
    return sorted(found, key=lambda e: (e.at, e.kind, e.what))


def only(found: Iterable[Entry], kinds: set[str]) -> list[Entry]:
    return [e for e in found if e.kind in kinds]
