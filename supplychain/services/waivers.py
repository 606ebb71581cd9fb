"""Waivers: accepting an advisory in one package of a service until an expiry, approved by a second person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import Service
from governance.queries import second_person_refusal
from governance.reasons import require_reason
from supplychain import matching
from supplychain.models import SeverityPolicy, Waiver

MAX_WAIVER = timedelta(days=365)


@transaction.atomic
def request_waiver(*, service: Service, advisory_id: str, package: str, expires_at: datetime, actor: Any,
                   reason: str) -> Waiver:
    """Ask to accept `advisory_id` in `package` (a purl, with or without a version) for the service."""
    reason = require_reason(reason)
    try:
        ident = matching.identify(package)
    except matching.UnknownPackage as exc:
        raise ValidationError({"package": f"{exc}; name the package as a purl, e.g. pkg:pypi/django"}) from None
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "a waiver's expiry must be in the future"})
    if expires_at - now > MAX_WAIVER:
        raise ValidationError({"expires_at": f"a waiver lasts at most {MAX_WAIVER.days} days; ask again later"})
    if not advisory_id.strip():
        raise ValidationError({"advisory": "name the advisory (its OSV id, e.g. GHSA-… or PYSEC-…)"})
    waiver = Waiver(service=service, advisory_id=advisory_id.strip()[:100], ecosystem=ident.package.ecosystem,
                    package=ident.package.name, reason=reason, expires_at=expires_at, requested_by=actor,
                    requested_at=now)
    waiver.stamp(actor=actor, reason=reason)
    waiver.save()
    return waiver


@transaction.atomic
def approve_waiver(*, waiver: Waiver, actor: Any, reason: str) -> Waiver:
    """Approve a requested waiver; the approver must be another person than the requester (four eyes)."""
    reason = require_reason(reason)
    waiver = Waiver.objects.select_for_update().select_related("requested_by").get(pk=waiver.pk)
    if waiver.status != Waiver.Status.REQUESTED:
        raise ValidationError(f"the waiver is {waiver.status}; only a requested waiver can be approved")
    if waiver.expires_at <= timezone.now():
        raise ValidationError("the waiver has expired; request a new one")
    refusal = second_person_refusal(actor, authors=[waiver.requested_by])
    if refusal:
        raise ValidationError(refusal)
    waiver.status = Waiver.Status.APPROVED
    waiver.approved_by = actor
    waiver.approved_at = timezone.now()
    waiver.stamp(actor=actor, reason=reason)
    waiver.save(update_fields=["status", "approved_by", "approved_at"])
    return waiver


@transaction.atomic
def revoke_waiver(*, waiver: Waiver, actor: Any, reason: str) -> Waiver:
    """End a waiver now (requested or approved): the findings it covered block again."""
    reason = require_reason(reason)
    waiver = Waiver.objects.select_for_update().get(pk=waiver.pk)
    if waiver.status == Waiver.Status.REVOKED:
        raise ValidationError("the waiver is already revoked")
    waiver.status = Waiver.Status.REVOKED
    waiver.stamp(actor=actor, reason=reason)
    waiver.save(update_fields=["status"])
    return waiver


@transaction.atomic
def save_severity_policy(*, policy: SeverityPolicy, actor: Any, reason: str) -> SeverityPolicy:
    policy.full_clean(validate_unique=False)
    policy.stamp(actor=actor, reason=require_reason(reason))
    policy.save()
    return policy
