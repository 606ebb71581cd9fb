"""Registering releases with their evidence, amending evidence, and CI checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from govctl.releases import semver

from governance import hooks
from governance.models import Service
from governance.services import require_reason
from releases import evidence, gates, planning, queries, states
from releases.models import Approval, Check, Release
from releases.services.common import Conflict, transition

S = Release.State


@dataclass(frozen=True)
class Registered:
    release: Release
    created: bool
    amended: bool = False


def _version(version: str | None) -> semver.Version | None:
    if version is None:
        return None
    try:
        return semver.parse(version)
    except semver.InvalidVersion as exc:
        raise ValidationError({"version": f"not a SemVer 2.0.0 version: {exc}"}) from None


@transaction.atomic
def register_release(*, service: Service, build_sha: str, actor: Any, reason: str, version: str | None = None,
                     tag: str = "", schema_hash: str = "", pr_url: str = "", author: str = "",
                     channel: str | None = None, commits: list[dict[str, Any]] | None = None,
                     changelog: str | None = None, artifacts: dict[str, Any] | None = None,
                     bump_policy: dict[str, Any] | None = None, replace: bool = False) -> Registered:
    """Register a release; the same evidence again is a no-op, other evidence for the version needs `replace`.

    Versions only increase per service (SemVer precedence). Replacing evidence is allowed until the release
    has gone live, and voids every approval (they signed the old digest).
    """
    reason = require_reason(reason)
    # One registration per service at a time: the version order check must see every committed release.
    service = Service.objects.select_for_update().get(pk=service.pk)
    commits = evidence.normalise_commits(commits or [])
    policy = planning.policy_from(bump_policy, service)
    if version is None:
        # A retry (after a timeout) of a registration that let the portal pick the version would pick the next
        # one: the build already registered is the answer, not a second release of the same code.
        first = queries.release_for_build(service, build_sha=build_sha, commits=commits)
        if first is not None:
            return Registered(first, created=False)
    # One plan, against the release just below the version (the latest one when the portal picks the version):
    # it gives the version, the bump recorded with the release and the changelog.
    named = _version(version)
    # A named version needs no channel step: the plan only gives its bump and changelog.
    base = queries.previous_release(service, str(named)) if named else planning.LATEST
    plan = planning.plan_for(service=service, commits=commits, policy=policy, pr_url=pr_url,
                             channel=None if named else channel, base=base,
                             version=str(named) if named else None, error_field="version")
    if named is None:
        if plan.next_version is None:
            raise ValidationError({"version": "no commit warrants a release; send an explicit version to force one"})
        named = semver.parse(plan.next_version)
    parsed = named
    version = str(parsed)
    tag = tag or f"v{version}"
    if changelog is None:
        changelog = plan.changelog
    fields: dict[str, Any] = {
        "service": service.slug, "version": version, "tag": tag, "build_sha": build_sha,
        "schema_hash": schema_hash, "pr_url": pr_url, "author": author, "channel": channel or "",
        "commits": commits, "changelog": changelog, "artifacts": artifacts or {}, "bump_policy": policy.to_dict(),
    }
    for validate in hooks.EVIDENCE_VALIDATORS:
        validate(artifacts=fields["artifacts"])
    try:
        digest = evidence.digest(fields)
    except evidence.EvidenceError as exc:
        raise ValidationError({"artifacts": str(exc)}) from None
    times = [c["time"] for c in commits if c.get("time")]
    first_commit_at = min(times) if times else None
    bump = plan.result.bump

    existing = Release.objects.select_for_update().filter(service=service, version=version).first()
    if existing is not None:
        if existing.evidence_digest == digest:
            return Registered(existing, created=False)
        if not replace:
            raise Conflict(
                f"{existing} is already registered with other evidence (digest {existing.evidence_digest[:12]}…, "
                f"this request {digest[:12]}…); send replace=true to amend it before it goes live "
                "(approvals will be voided), or register a new version"
            )
        amended = _amend(existing, fields, digest, first_commit_at, bump, actor=actor, reason=reason)
        _evidence_recorded(amended, actor=actor, reason=reason)
        return Registered(amended, created=False, amended=True)

    latest = queries.latest_release(service)
    if latest is not None and not parsed > semver.parse(latest.version):
        raise Conflict(
            f"version {version} is not greater than {latest.version}, the latest release of {service.slug} "
            "(SemVer precedence; build metadata does not count): versions must increase"
        )
    if Release.objects.filter(service=service, tag=tag).exists():
        raise Conflict(f"tag {tag} is already used by another release of {service.slug}")
    release = Release(
        service=service, version=version, tag=tag, build_sha=build_sha, schema_hash=schema_hash, pr_url=pr_url,
        author=author, channel=channel or "", bump=bump, commits=commits, changelog=changelog,
        artifacts=artifacts or {}, bump_policy=policy.to_dict(), evidence_digest=digest,
        first_commit_at=first_commit_at,
    )
    release.stamp(actor=actor, reason=reason)
    release.full_clean(validate_unique=False, validate_constraints=False)
    release.save()
    _evidence_recorded(release, actor=actor, reason=reason)
    return Registered(release, created=True)


def _evidence_recorded(release: Release, *, actor: Any, reason: str) -> None:
    for recorded in hooks.EVIDENCE_RECORDED:
        recorded(release=release, actor=actor, reason=reason)


def _amend(release: Release, fields: dict[str, Any], digest: str, first_commit_at: Any, bump: str, *,
           actor: Any, reason: str) -> Release:
    if release.state not in states.PRE_PRODUCTION:
        raise Conflict(f"{release} is {release.get_state_display()}; the evidence of a release that went to "
                       "production cannot change: register a new version")
    if Release.objects.filter(service=release.service, tag=fields["tag"]).exclude(pk=release.pk).exists():
        raise Conflict(f"tag {fields['tag']} is already used by another release of {release.service.slug}")
    old = release.evidence_digest
    void_approvals(release=release, actor=actor,
                   reason=f"evidence changed ({old[:12]}… → {digest[:12]}…): {reason}")
    if release.state != S.REGISTERED:
        transition(release, S.REGISTERED, actor=actor, reason=reason)
    for name in ("tag", "build_sha", "schema_hash", "pr_url", "author", "commits", "changelog", "artifacts",
                 "bump_policy"):
        setattr(release, name, fields[name])
    release.channel = fields["channel"]
    release.evidence_digest = digest
    release.evidence_revision += 1
    release.first_commit_at = first_commit_at
    release.bump = bump
    release.stamp(actor=actor, reason=reason)
    release.save(update_fields=["tag", "build_sha", "schema_hash", "pr_url", "author", "commits", "changelog",
                                "artifacts", "bump_policy", "channel", "evidence_digest", "evidence_revision",
                                "first_commit_at", "bump"])
    return release


def void_approvals(*, release: Release, actor: Any, reason: str) -> int:
    """Void every standing approval of the release (they signed evidence that no longer holds)."""
    now = timezone.now()
    count = 0
    for approval in Approval.objects.select_for_update().filter(release=release, voided_at__isnull=True):
        approval.voided_at = now
        approval.void_reason = reason
        approval.stamp(actor=actor, reason=reason)
        approval.save(update_fields=["voided_at", "void_reason"])
        count += 1
    return count


@transaction.atomic
def report_check(*, release: Release, name: str, status: str, actor: Any, reason: str, url: str = "",
                 summary: str = "") -> tuple[Check, bool]:
    """Create or update the release's check `name`; returns (check, created)."""
    reason = require_reason(reason)
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    if status not in Check.Status.values:
        raise ValidationError({"status": f"'{status}' is not a check status; use one of "
                                         f"{', '.join(Check.Status.values)}"})
    check = Check.objects.filter(release=release, name=name).first()
    created = check is None
    if check is None:
        check = Check(release=release, name=name)
    elif (check.status, check.url, check.summary, check.evidence_digest) == (
            status, url, summary, release.evidence_digest):
        return check, False  # the same report again (a retry): nothing changed, nothing to audit
    check.status, check.url, check.summary = status, url, summary
    check.evidence_digest = release.evidence_digest
    check.reported_at = timezone.now()
    check.full_clean(validate_unique=False, validate_constraints=False)
    check.stamp(actor=actor, reason=reason)
    check.save()
    _await_approval_if_ready(release, actor=actor, reason=reason)
    return check, created


def _await_approval_if_ready(release: Release, *, actor: Any, reason: str) -> None:
    """registered / in_preview → awaiting_approval once production's required checks pass and approvals lack."""
    if release.state not in (S.REGISTERED, S.IN_PREVIEW):
        return
    production = queries.production_environment()
    if production is None:
        return
    policy = queries.gate_policy(release.service, production)
    if not policy.required_checks or policy.approvals_required == 0:
        return
    passed = gates.required_checks(release=release, environment=production).verdict == "allow"
    if passed and len(queries.standing_approvals(release, production)) < policy.approvals_required:
        transition(release, S.AWAITING_APPROVAL, actor=actor, reason=reason)
