"""Mirrors every history record into the merged audit timeline (AuditEvent), in the same transaction.

This is the one place audit rows are written; services only stamp actor and reason. A history
record without a reason or an actor is refused: an empty reason is a bug, and refusing it here
catches every path (admin, API, tasks, shell) that forgot to say why.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from governance.models import AuditEvent, Environment, Service, Source

# Never copied into the timeline or the export, whatever the model.
SECRET_FIELDS = {"digest", "password", "secret", "secret_hash"}
NOISE_FIELDS = {"last_used_at"}


class MissingAuditContext(ValidationError):
    """A governed change was saved without an actor or a reason."""


class _Encoder(DjangoJSONEncoder):
    """Times whole in ISO 8601 (Django's encoder cuts microseconds), Django's other types, else the text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime.datetime, datetime.date, datetime.time)):
            return o.isoformat()
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=_Encoder))


def _environment_id(instance: Any) -> int | None:
    if isinstance(instance, Environment):
        return instance.pk
    getter = getattr(instance, "audit_environment_id", None)
    if callable(getter):
        return getter()
    return getattr(instance, "environment_id", None)


def _source(reason: str, user: Any) -> str:
    """admin or api from the request simple-history's middleware saw; else a command (its reason says so,
    governance.management.reasons), a task (the system user outside a command) or other (a shell)."""
    request = getattr(HistoricalRecords.context, "request", None)
    if request is not None:
        path = getattr(request, "path", "")
        if path.startswith(("/api/", "/ofrep/")):
            return Source.API
        if path.startswith(f"/{settings.ADMIN_PATH}"):
            return Source.ADMIN
        return Source.OTHER
    if "(manage.py " in reason:
        return Source.COMMAND
    if user is not None and user.get_username() == settings.SYSTEM_USERNAME:
        return Source.TASK
    return Source.OTHER


def _label(field: Any, value: Any) -> str | None:
    """A foreign key's target by name, so the diff reads "service 3 (shop)" even after the row is gone."""
    if value is None or not isinstance(field, models.ForeignKey):
        return None
    target = field.related_model._default_manager.filter(pk=value).first()
    return str(target) if target is not None else None


def _change(model: Any, name: str, old: Any, new: Any) -> dict[str, Any]:
    row = {"field": name, "old": _jsonable(old), "new": _jsonable(new)}
    try:
        field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a history-only or many-to-many name: no label
        return row
    if isinstance(field, models.ForeignKey):
        row["old_label"], row["new_label"] = _label(field, old), _label(field, new)
    return row


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
    model = type(instance)
    changes: list[dict[str, Any]] = []
    previous = history_instance.prev_record if history_instance.history_type == "~" else None
    if previous is not None:
        # Every tracked field, also those not editable in forms (an emergency toggle's expires_at and revert_to):
        # simple-history's diff_against skips them, so compare the two records' values here.
        for field in previous.tracked_fields:
            if field.attname in excluded or field.name in excluded:
                continue
            old, new = getattr(previous, field.attname), getattr(history_instance, field.attname)
            if old != new:
                changes.append(_change(model, field.name, old, new))
    elif history_instance.history_type == "+":
        # A model may state what it changes from (a change request: the state's values before it applies).
        before = instance.audit_before() if callable(getattr(instance, "audit_before", None)) else {}
        for field in instance._meta.concrete_fields:
            if field.attname in excluded or field.name in excluded:
                continue
            changes.append(_change(model, field.name, before.get(field.name), getattr(instance, field.attname)))
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
        environment_id=_environment_id(instance),
        source=_source(history_instance.history_change_reason, user),
        changes=changes,
        history_id=history_instance.pk,
    )
    # simple-history leaves the stamp on the instance; a later save must state its own reason.
    instance.__dict__.pop("_change_reason", None)
    instance.__dict__.pop("_history_user", None)
