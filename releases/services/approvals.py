"""Approvals (signing the evidence digest) and audited overrides of freeze windows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import Environment
from governance.services import require_reason
from releases import gates, queries, states
from releases.models import Approval, FreezeOverride, Release


@transaction.atomic
def approve_release(*, release: Release, environment: Environment, actor: Any, reason: str) -> Approval:
    """Sign the release's current evidence for the environment; approving twice returns the standing approval."""
    reason = require_reason(reason)
    # Locking the release serialises approvals with evidence amendments: an approval never signs a digest
    # that a concurrent amendment is replacing.
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    allowed, why_not = queries.may_approve(actor, release)
    if not allowed:
        raise ValidationError(why_not)
    if release.state not in states.PRE_PRODUCTION:
        raise ValidationError(f"{release} is {release.get_state_display()}; only releases that have not gone "
                              "live can be approved")
    # What an approval signs must not be blocked (required checks, schema plans, vulnerabilities …); inputs about
    # when the release ships (freeze, budget, soak) may block and the promotion waits for them (gates.NOT_SIGNED).
    why = gates.blockers(gates.evaluate(release, environment), approving=True)
    if why:
        raise ValidationError(f"the gate blocks: {'; '.join(why)}", code="gate-blocks")
    now = timezone.now()
    standing = Approval.objects.filter(release=release, environment=environment, approver=actor,
                                       evidence_digest=release.evidence_digest, voided_at__isnull=True).first()
    if standing is not None and standing.expires_at > now:
        return standing
    if standing is not None:
        # An expired approval makes way for the new one (the unique index allows one standing row).
        standing.voided_at = now
        standing.void_reason = "expired; approved again"
        standing.stamp(actor=actor, reason=reason)
        standing.save(update_fields=["voided_at", "void_reason"])
    policy = queries.gate_policy(release.service, environment)
    approval = Approval(release=release, environment=environment, approver=actor,
                        evidence_digest=release.evidence_digest, comment=reason, created_at=now,
                        expires_at=now + timedelta(hours=policy.approval_ttl_hours))
    approval.stamp(actor=actor, reason=reason)
    approval.save()
    return approval


@transaction.atomic
def override_freeze(*, release: Release, environment: Environment, actor: Any, reason: str) -> list[FreezeOverride]:
    """Let the release through every freeze window active now for the environment (recorded, with the reason)."""
    reason = require_reason(reason)
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    if not actor.has_perm("releases.add_freezeoverride"):
        raise ValidationError(f"{actor.get_username()} may not override freeze windows")
    windows = list(queries.active_freezes(release.service, environment))
    if not windows:
        raise ValidationError(f"{environment.slug} is not frozen for {release.service.slug} now; nothing to override")
    done = []
    for window in windows:
        override = FreezeOverride.objects.filter(release=release, window=window).first()
        if override is None:
            override = FreezeOverride(release=release, window=window, overridden_by=actor, reason=reason)
            override.stamp(actor=actor, reason=reason)
            override.save()
        done.append(override)
    return done
