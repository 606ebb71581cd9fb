"""Mirrors every history record into the merged audit timeline (AuditEvent), in the same transaction.

This is the one place audit rows are written; services only stamp actor and reason. A history
record without a reason or an actor is refused: an empty reason is a bug, and refusing it here
catches every path (admin, API, tasks, shell) that forgot to say why.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.dispatch import receiver
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from governance.models import AuditEvent, Service

# Never copied into the timeline or the export, whatever the model.
SECRET_FIELDS = {"digest", "password", "secret", "secret_hash"}
NOISE_FIELDS = {"last_used_at"}


class MissingAuditContext(ValidationError):
    """A governed change was saved without an actor or a reason."""


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def _service_id(instance: Any) -> int | None:
    if isinstance(instance, Service):
        return instance.pk
    getter = getattr(instance, "audit_service_id", None)
    if callable(getter):
        return getter()
    return getattr(instance, "service_id", None)


@receiver(pre_create_historical_record)
def require_actor_and_reason(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    reason = (history_instance.history_change_reason or "").strip()
    if not reason:
        raise MissingAuditContext(f"A change to {sender._meta.label} needs a reason.")
    if history_instance.history_user_id is None and getattr(history_instance, "history_user", None) is None:
        raise MissingAuditContext(f"A change to {sender._meta.label} needs an actor.")


@receiver(post_create_historical_record)
def record_audit_event(sender: Any, instance: Any, history_instance: Any, **kwargs: Any) -> None:
    excluded = SECRET_FIELDS | NOISE_FIELDS
    changes: list[dict[str, Any]] = []
    previous = history_instance.prev_record if history_instance.history_type == "~" else None
    if previous is not None:
        delta = history_instance.diff_against(previous, foreign_keys_are_objs=False)
        changes = [
            {"field": c.field, "old": _jsonable(c.old), "new": _jsonable(c.new)}
            for c in delta.changes
            if c.field not in excluded
        ]
    elif history_instance.history_type == "+":
        for field in instance._meta.concrete_fields:
            if field.attname in excluded or field.name in excluded:
                continue
            changes.append({"field": field.name, "old": None, "new": _jsonable(getattr(instance, field.attname))})
    # Many-to-many values a service set with the save (e.g. a token's restrictions), which no history table holds.
    changes += instance.__dict__.pop("_audit_extra_changes", [])
    user = history_instance.history_user
    AuditEvent.objects.create(
        at=history_instance.history_date,
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:300],
        change=history_instance.history_type,
        reason=history_instance.history_change_reason,
        service_id=_service_id(instance),
        changes=changes,
        history_id=history_instance.pk,
    )
    # simple-history leaves the stamp on the instance; a later save must state its own reason.
    instance.__dict__.pop("_change_reason", None)
    instance.__dict__.pop("_history_user", None)
