"""Audit exports and checkpoints: the filters, the records, the signed trailer, the signed chain checkpoints.

One home for the export rules the admin view, the API view, the command and the schedule share. The file
format and its verification live in `govctl.audit.audit_proof` (no Django) so an auditor checks files offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from govctl.audit import audit_chain, audit_proof

from governance import audit_signing
from governance.locks import advisory_lock
from governance.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditExport,
    AuditSigningKey,
    Environment,
    Service,
    Source,
)

_CHECKPOINT_LOCK = "governance:audit-checkpoint"  # advisory lock name: one checkpoint writer at a time
FILTER_NAMES = ("since", "until", "actor", "model", "service", "environment", "source")


@dataclass(frozen=True)
class AuditFilters:
    """What an export selects; every field is written into the signed trailer."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    model: str = ""
    service: Service | None = None
    environment: Environment | None = None
    source: str = ""
    # A token restricted to services exports only their events (never service-less ones such as tokens').
    restricted_to: tuple[Service, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "actor": self.actor or None,
            "model": self.model or None,
            "service": self.service.slug if self.service else None,
            "environment": self.environment.slug if self.environment else None,
            "source": self.source or None,
            "restricted_to_services": sorted(s.slug for s in self.restricted_to),
        }


def build_filters(*, since: datetime | None = None, until: datetime | None = None, actor: str = "",
                  model: str = "", service: str = "", environment: str = "", source: str = "",
                  restricted_to: Iterable[Service] = ()) -> AuditFilters:
    """Filters from user input (slugs, names): ValidationError per field for what does not exist."""
    errors: dict[str, str] = {}
    if since and until and since >= until:
        errors["until"] = "The end of the range must be after its start."
    service_row = Service.objects.filter(slug=service).first() if service else None
    if service and service_row is None:
        errors["service"] = f"No service '{service}'."
    environment_row = Environment.objects.filter(slug=environment).first() if environment else None
    if environment and environment_row is None:
        errors["environment"] = f"No environment '{environment}'."
    if source and source not in Source.values:
        errors["source"] = f"Unknown source '{source}' (known: {', '.join(Source.values)})."
    if model and ("." not in model or len(model) > 100):
        errors["model"] = "Name the model as app_label.model, e.g. flags.flagstate."
    if errors:
        raise ValidationError(errors)
    return AuditFilters(since=since, until=until, actor=actor.strip(), model=model.strip().lower(),
                        service=service_row, environment=environment_row, source=source,
                        restricted_to=tuple(restricted_to))


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The events an export with these filters holds, in export order (time, then id)."""
    events = AuditEvent.objects.order_by("at", "id")
    if filters.since:
        events = events.filter(at__gte=filters.since)
    if filters.until:
        events = events.filter(at__lt=filters.until)
    if filters.actor:
        events = events.filter(actor_name=filters.actor)
    if filters.model:
        events = events.filter(model=filters.model)
    if filters.service:
        events = events.filter(service_id=filters.service.pk)
    if filters.environment:
        events = events.filter(environment_id=filters.environment.pk)
    if filters.source:
        events = events.filter(source=filters.source)
    if filters.restricted_to:
        events = events.filter(service_id__in=[s.pk for s in filters.restricted_to])
    return events


def audit_records(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Events as the export's record shape (plain dicts)."""
    changes = dict(AuditEvent.Change.choices)
    for e in events.values("id", "at", "actor_name", "model", "object_id", "object_repr", "change", "reason",
                           "service_id", "environment_id", "source", "changes", "history_id"
                           ).iterator(chunk_size=2000):
        yield {
            "event_id": e["id"],
            "at": e["at"].isoformat(),
            "actor": e["actor_name"],
            "model": e["model"],
            "object_id": e["object_id"],
            "object": e["object_repr"],
            "change": changes[e["change"]],
            "reason": e["reason"],
            "service_id": e["service_id"],
            "environment_id": e["environment_id"],
            "source": e["source"],
            "changes": e["changes"],
            "history_id": e["history_id"],
        }


def _remember_key() -> None:
    public = audit_signing.public_key()
    AuditSigningKey.objects.get_or_create(key_id=audit_proof.key_id(public),
                                          defaults={"public_key": audit_proof.public_key_text(public)})


def export_audit(*, actor: Any, filters: AuditFilters, purpose: str = "") -> Iterator[str]:
    """JSON Lines with a hash chain, closed by a signed trailer; the export is recorded as it ends. `purpose`
    (e.g. "evidence-pack") is recorded with the filters, in the signed trailer too."""
    audit_signing.private_key()  # a missing or broken key fails before the first line, not after the last
    check = audit_chain.ChainCheck()
    for entry in audit_chain.chain(audit_records(audit_events(filters))):
        check.add(entry)
        yield audit_chain.canonical(entry) + "\n"
    yield audit_chain.canonical(_close_export(actor=actor, filters=filters, check=check, purpose=purpose)) + "\n"


@transaction.atomic
def _close_export(*, actor: Any, filters: AuditFilters, check: audit_chain.ChainCheck,
                  purpose: str = "") -> dict[str, Any]:
    name = actor.get_username() if actor is not None else ""
    described = {**filters.describe(), **({"purpose": purpose} if purpose else {})}
    export = AuditExport.objects.create(actor_name=name, since=filters.since, until=filters.until,
                                        filters=described, record_count=check.count, head_hash=check.head)
    trailer = audit_proof.sign({
        "type": audit_proof.TRAILER,
        "version": audit_proof.FORMAT_VERSION,
        "export_id": export.pk,
        "exporter": name,
        "created_at": export.created_at.isoformat(),
        "record_count": check.count,
        "first": _end(check.first),
        "last": _end(check.last),
        "head_hash": check.head,
        "since": export.filters["since"],
        "until": export.filters["until"],
        "filters": export.filters,
    }, audit_signing.private_key())
    _remember_key()
    export.key_id, export.trailer = trailer["key_id"], trailer
    export.save(update_fields=["key_id", "trailer"])
    return trailer


def export_response(*, actor: Any, filters: AuditFilters) -> StreamingHttpResponse:
    """The export as a download (admin and API alike): streamed, never cached (`no-store`: it holds the trail)."""
    lines = export_audit(actor=actor, filters=filters)
    first = next(lines)  # loads the signing key before the response starts: a broken key is an error, not half a file

    def stream() -> Iterator[str]:
        yield first
        yield from lines

    response = StreamingHttpResponse(stream(), content_type="application/x-ndjson")
    response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
    response["Cache-Control"] = "no-store"
    return response


def _end(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"seq": entry["seq"], "event_id": entry["event_id"], "at": entry["at"], "hash": entry["hash"]}


@transaction.atomic
def record_audit_checkpoint(*, actor: Any, reason: str, now: datetime | None = None) -> AuditCheckpoint | None:
    """Sign the whole trail's chain head up to now minus a margin, continuing from the last checkpoint.

    The margin leaves out events whose transaction may still be open. None when nothing new is covered."""
    with advisory_lock(_CHECKPOINT_LOCK, wait=True):  # transaction-scoped: held until this service commits
        return _record_checkpoint(actor=actor, reason=reason, now=now)


def _record_checkpoint(*, actor: Any, reason: str, now: datetime | None) -> AuditCheckpoint | None:
    now = now or timezone.now()
    covers_until = now - timedelta(seconds=settings.AUDIT_CHECKPOINT_MARGIN_SECONDS)
    previous = AuditCheckpoint.objects.order_by("-covers_until").first()
    if previous is not None and covers_until <= previous.covers_until:
        return None
    since = previous.covers_until if previous else None
    head, count = (previous.head_hash, previous.record_count) if previous else (audit_chain.GENESIS, 0)
    last_event_id = previous.last_event_id if previous else None
    events = audit_events(AuditFilters(since=since, until=covers_until))
    for entry in audit_chain.chain(audit_records(events), prev=head, start=count + 1):
        head, count, last_event_id = entry["hash"], entry["seq"], entry["event_id"]
    checkpoint = AuditCheckpoint(covers_until=covers_until, record_count=count, head_hash=head,
                                 last_event_id=last_event_id, created_at=now, key_id="", document={})
    checkpoint.save()
    checkpoint.document = audit_proof.sign({
        "type": audit_proof.CHECKPOINT,
        "version": audit_proof.FORMAT_VERSION,
        "checkpoint_id": checkpoint.pk,
        "created_at": now.isoformat(),
        "covers_until": covers_until.isoformat(),
        "record_count": count,
        "head_hash": head,
        "last_event_id": last_event_id,
        "signed_by": actor.get_username() if actor is not None else "",
        "reason": reason,
    }, audit_signing.private_key())
    checkpoint.key_id = checkpoint.document["key_id"]
    checkpoint.save(update_fields=["document", "key_id"])
    _remember_key()
    return checkpoint


def published_keys() -> list[dict[str, Any]]:
    """Every public key that verifies the portal's files: the current one first, then earlier ones. A read:
    the current key is listed even before it first signs, without recording it."""
    current = audit_signing.public_key()
    current_id = audit_proof.key_id(current)
    keys = [{"key_id": current_id, "public_key": audit_proof.public_key_text(current), "algorithm": "Ed25519",
             "status": "current", "first_used_at": None}]
    for row in AuditSigningKey.objects.order_by("-first_used_at"):
        if row.key_id == current_id:
            keys[0]["first_used_at"] = row.first_used_at.isoformat()
            continue
        keys.append({"key_id": row.key_id, "public_key": row.public_key, "algorithm": "Ed25519",
                     "status": "retired", "first_used_at": row.first_used_at.isoformat()})
    return keys
