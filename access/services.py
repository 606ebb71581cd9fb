"""Every state change of the access app: policies, reviews (snapshots), secrets and their rotations."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access import alerts, catalog
from access import policy as policy_rules
from access.models import AccessPolicy, AccessSnapshot, Secret, SecretRotation
from governance.models import Service
from governance.services import require_reason, save_audited, system_user
from recovery.models import BackupTarget

logger = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(minutes=5)  # a rotation time typed from another clock
SECRET_FIELDS = ("location", "owner", "max_age_days", "runbook_url", "notes")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


# --- policies -----------------------------------------------------------------------------------------

@transaction.atomic
def create_access_policy(*, target: BackupTarget, document: dict[str, Any], actor: Any, reason: str,
                         enabled: bool = True) -> AccessPolicy:
    """Declare what a governed database may grant (revision 1)."""
    return save_audited(instance=AccessPolicy(target=target, document=document, enabled=enabled), actor=actor,
                        reason=reason)


@transaction.atomic
def update_access_policy(*, policy: AccessPolicy, actor: Any, reason: str, document: dict[str, Any] | None = None,
                         enabled: bool | None = None) -> AccessPolicy:
    """Change the policy; a new document is a new revision (snapshots name the revision they were judged by)."""
    policy = AccessPolicy.objects.select_for_update().get(pk=policy.pk)
    fields = []
    if document is not None and document != policy.document:
        policy.document, policy.revision = document, policy.revision + 1
        fields += ["document", "revision"]
    if enabled is not None and enabled != policy.enabled:
        policy.enabled = enabled
        fields.append("enabled")
    if not fields:
        return policy
    return save_audited(instance=policy, actor=actor, reason=reason, update_fields=fields)


# --- reviews ------------------------------------------------------------------------------------------

def read_snapshot(target: BackupTarget, role_patterns: list[str], roles: list[str]) -> dict[str, Any]:
    """Connect to the target (its DSN from the environment) read-only and read its catalog."""
    from recovery.services import target_dsn

    options = f"-c default_transaction_read_only=on -c statement_timeout={settings.ACCESS_REVIEW_TIMEOUT_SECONDS * 1000}"
    with psycopg.connect(target_dsn(target), connect_timeout=10, options=options, autocommit=True) as conn:
        return catalog.take_snapshot(conn, role_patterns=role_patterns, roles=roles)


def _drift_key(item: dict[str, Any]) -> str:
    return canonical({k: item[k] for k in ("code", "object", "role", "actual")}).decode()


def review_access(*, target: BackupTarget, actor: Any, reason: str) -> AccessSnapshot:
    """Snapshot the target's roles, grants and RLS, judge them by its policy, record and (on new drift) alert.

    Never raises for an unreachable database: that is recorded as a failed review (and alerted), like a backup.
    """
    reason = require_reason(reason)
    policy = AccessPolicy.objects.filter(target=target).first()
    if policy is None:
        raise ValidationError(f"Target '{target.name}' has no access policy: declare one first.")
    previous = (AccessSnapshot.objects.filter(target=target).exclude(status=AccessSnapshot.Status.FAILED)
                .order_by("-taken_at", "-id").first())
    last_any = AccessSnapshot.objects.filter(target=target).order_by("-taken_at", "-id").first()
    try:
        snapshot = read_snapshot(target, list(policy.document.get("role_patterns") or []),
                                 sorted(policy.document.get("roles") or {}))
    except (psycopg.Error, ValidationError, OSError) as exc:
        error = "; ".join(exc.messages) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            row = AccessSnapshot.objects.create(
                target=target, policy_revision=policy.revision, status=AccessSnapshot.Status.FAILED,
                error=error[:5000], previous=previous, taken_by=actor, reason=reason,
                alerted=last_any is None or last_any.status != AccessSnapshot.Status.FAILED)
            if row.alerted:  # once per run of failures, not every scheduled attempt
                transaction.on_commit(lambda: alerts.send(alerts.review_failed(row), target.service_id))
        return row
    found = policy_rules.drift(policy.document, snapshot)
    before = {_drift_key(i) for i in previous.drift} if previous else set()
    new_items = [i for i in found if _drift_key(i) not in before]
    with transaction.atomic():
        row = AccessSnapshot.objects.create(
            target=target, policy_revision=policy.revision,
            status=AccessSnapshot.Status.DRIFT if found else AccessSnapshot.Status.CLEAN,
            snapshot=snapshot, digest=hashlib.sha256(canonical(snapshot)).hexdigest(), drift=found,
            changes=catalog.diff(previous.snapshot, snapshot) if previous else [], previous=previous,
            taken_by=actor, reason=reason, alerted=bool(new_items))
        if new_items:
            transaction.on_commit(lambda: alerts.send(alerts.drift_found(row, new_items), target.service_id))
    return row


# --- secrets ------------------------------------------------------------------------------------------

@transaction.atomic
def create_secret(*, service: Service | None, name: str, location: str, owner: str, last_rotated_at: datetime,
                  max_age_days: int, runbook_url: str, actor: Any, reason: str, notes: str = "") -> Secret:
    """Add an inventory entry (where the secret lives and its rotation deadline; never its value)."""
    if Secret.objects.filter(service=service, name=name).exists():
        from governance.conflicts import Conflict

        raise Conflict(f"The inventory already has {name} for {service.slug if service else 'the portal'}.",
                       code="secret-exists")
    _not_in_future(last_rotated_at)
    secret = Secret(service=service, name=name, location=location, owner=owner, last_rotated_at=last_rotated_at,
                    max_age_days=max_age_days, runbook_url=runbook_url, notes=notes)
    return save_audited(instance=secret, actor=actor, reason=reason)


@transaction.atomic
def update_secret(*, secret: Secret, actor: Any, reason: str, **changes: Any) -> Secret:
    """Change where a secret lives, its owner, maximum age or runbook (a rotation is `record_rotation`)."""
    unknown = set(changes) - set(SECRET_FIELDS)
    if unknown:
        raise ValidationError(f"Not changeable here: {', '.join(sorted(unknown))} (a rotation is recorded with "
                              "record_rotation; the inventory never holds a value).")
    secret = Secret.objects.select_for_update().get(pk=secret.pk)
    for field, value in changes.items():
        setattr(secret, field, value)
    return save_audited(instance=secret, actor=actor, reason=reason, update_fields=list(changes) or None)


def _not_in_future(moment: datetime) -> None:
    if moment > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"rotated_at": "A rotation cannot be in the future."})


@transaction.atomic
def record_rotation(*, secret: Secret, actor: Any, reason: str, rotated_at: datetime | None = None) -> SecretRotation:
    """Record that the secret was rotated (when, by whom, why); its deadline starts again."""
    reason = require_reason(reason)
    secret = Secret.objects.select_for_update().get(pk=secret.pk)
    rotated_at = rotated_at or timezone.now()
    _not_in_future(rotated_at)
    if rotated_at < secret.last_rotated_at:
        last = secret.last_rotated_at.strftime("%Y-%m-%d %H:%M")
        raise ValidationError({"rotated_at": f"Before the last recorded rotation ({last} UTC)."})
    rotation = SecretRotation.objects.create(secret=secret, rotated_at=rotated_at,
                                             previous_rotated_at=secret.last_rotated_at, recorded_by=actor,
                                             reason=reason)
    secret.last_rotated_at = rotated_at
    save_audited(instance=secret, actor=actor, reason=reason, update_fields=["last_rotated_at"])
    return rotation


def check_overdue_secrets(*, now: datetime | None = None) -> list[Secret]:
    """Alert each overdue secret once per overdue period (a rotation starts a new period); returns those alerted."""
    from access import queries

    now = now or timezone.now()
    alerted = []
    for secret in queries.overdue_secrets(now):
        if secret.overdue_alerted_for == secret.last_rotated_at:
            continue
        with transaction.atomic():
            locked = Secret.objects.select_for_update(of=("self",)).select_related("service").get(pk=secret.pk)
            if not locked.is_overdue(now) or locked.overdue_alerted_for == locked.last_rotated_at:
                continue
            locked.overdue_alerted_for = locked.last_rotated_at
            save_audited(instance=locked, actor=system_user(), reason="scheduled: overdue secrets check (alert sent)",
                         update_fields=["overdue_alerted_for"])
            transaction.on_commit(functools.partial(alerts.send, alerts.secret_overdue(locked), locked.service_id))
        alerted.append(locked)
    return alerted
