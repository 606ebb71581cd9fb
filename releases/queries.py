"""Reads that encode a rule: the latest release, the gate policy that applies, who may approve, DORA."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from govctl import semver
from govctl.changelog import render_changelog
from govctl.conventional import SourceCommit
from govctl.versioning import BumpPolicy, VersioningError, next_version

from governance.models import Environment, Service
from releases.models import Approval, Deployment, FreezeWindow, GatePolicy, Release

_EMAIL_IN_ANGLES = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")


def latest_release(service: Service) -> Release | None:
    """The service's release with the highest SemVer precedence (versions only ever increase)."""
    best: Release | None = None
    best_key: tuple | None = None
    for release in Release.objects.filter(service=service).only("id", "version", "bump_policy", "service_id"):
        key = semver.parse(release.version).precedence_key()
        if best_key is None or key > best_key:
            best, best_key = release, key
    return best


def bump_policy_for(service: Service) -> BumpPolicy:
    """The policy stored with the service's latest release, or the default policy before the first one."""
    latest = latest_release(service)
    if latest is not None and latest.bump_policy:
        try:
            return BumpPolicy.from_dict(latest.bump_policy)
        except (VersioningError, TypeError):
            pass  # a policy that no longer parses is not inherited; the default applies
    return BumpPolicy()


def production_environment() -> Environment | None:
    return Environment.objects.filter(is_production=True).order_by("order").first()


def previous_environment(environment: Environment) -> Environment | None:
    """The environment a release passes through just before this one (by Environment.order)."""
    return Environment.objects.filter(order__lt=environment.order).order_by("-order", "-slug").first()


def gate_policy(service: Service, environment: Environment) -> GatePolicy:
    """The configured policy, or the default (unsaved): production needs one approval, elsewhere nothing."""
    policy = GatePolicy.objects.filter(service=service, environment=environment).first()
    if policy is None:
        policy = GatePolicy(service=service, environment=environment,
                            approvals_required=1 if environment.is_production else 0,
                            approval_ttl_hours=settings.RELEASES_APPROVAL_TTL_HOURS)
    return policy


def live_release(service: Service) -> Release | None:
    return Release.objects.filter(service=service, state=Release.State.LIVE).first()


def active_deployment(service: Service, environment: Environment) -> Deployment | None:
    return (Deployment.objects.select_related("release", "requested_by")
            .filter(service=service, environment=environment, status__in=Deployment.ACTIVE).first())


def rollback_candidates(service: Service) -> QuerySet[Release]:
    """Earlier live releases a rollback may return to, the one live most recently first."""
    environment = production_environment()
    went_live = Deployment.objects.filter(service=service, environment=environment,
                                          status=Deployment.Status.SUCCEEDED)
    return (Release.objects.select_related("service")
            .filter(service=service, state=Release.State.SUPERSEDED, deployments__in=went_live)
            .distinct().order_by("-state_changed_at", "-id"))


def people_of(release: Release) -> set[str]:
    """Lower-cased identities of the release's author and committers (logins, emails, 'Name <email>')."""
    people: set[str] = set()
    for raw in [release.author, *(c.get("author", "") for c in release.commits)]:
        text = (raw or "").strip().lower()
        if not text:
            continue
        people.add(text)
        people.update(_EMAIL_IN_ANGLES.findall(text))
    return people


def identities_of(user: Any) -> set[str]:
    names = {user.get_username().lower()}
    if getattr(user, "email", ""):
        names.add(user.email.lower())
    return names


def may_approve(user: Any, release: Release) -> tuple[bool, str]:
    """Whether the user may approve the release, and why not."""
    if not user.is_active or not user.has_perm("releases.add_approval"):
        return False, f"{user.get_username()} is not a release manager"
    if identities_of(user) & people_of(release):
        return False, f"{user.get_username()} authored or committed to {release}; approvals need another person"
    return True, ""


def standing_approvals(release: Release, environment: Environment, now: datetime | None = None) -> list[Approval]:
    """Approvals that count now: not voided, not expired, for the current evidence, by an eligible person."""
    now = now or timezone.now()
    approvals = (Approval.objects.select_related("approver")
                 .filter(release=release, environment=environment, voided_at__isnull=True,
                         evidence_digest=release.evidence_digest, expires_at__gt=now))
    return [a for a in approvals if may_approve(a.approver, release)[0]]


def active_freezes(service: Service, environment: Environment, now: datetime | None = None) -> QuerySet[FreezeWindow]:
    now = now or timezone.now()
    return FreezeWindow.objects.filter(Q(service=service) | Q(service__isnull=True), environment=environment,
                                       starts_at__lte=now, ends_at__gt=now)


def stuck_promotions(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[Release]:
    now = now or timezone.now()
    return (Release.objects.select_related("service")
            .filter(state=Release.State.PROMOTING, state_changed_at__lt=now - older_than))


def source_commits(commits: list[dict[str, Any]], pr_url: str = "") -> list[SourceCommit]:
    """CI's commits as the pure modules take them; a release-wide PR link applies to commits without one."""
    return [SourceCommit(c["sha"], c["message"], c.get("pr_url") or pr_url or None) for c in commits]


def changelog_for(service: Service, version: str, commits: list[SourceCommit], date: str | None = None) -> str:
    repo = service.repository_url or None
    try:
        return render_changelog(version=version, commits=commits, repo_url=repo, date=date)
    except ValueError:
        # A repository URL the changelog cannot link to is not the release's fault: render without links.
        return render_changelog(version=version, commits=commits, date=date)


def release_plan(*, service: Service, commits: list[dict[str, Any]], pr_url: str = "", channel: str | None = None,
                 policy: BumpPolicy | None = None, date: str | None = None) -> dict[str, Any]:
    """The next version after the service's latest release, why, its changelog and the invalid commits."""
    latest = latest_release(service)
    policy = policy or bump_policy_for(service)
    sources = source_commits(commits, pr_url)
    try:
        result = next_version(current=latest.version if latest else None, commits=sources, policy=policy,
                              channel=channel)
    except VersioningError as exc:
        raise ValidationError({"channel" if "channel" in str(exc) else "non_field_errors": str(exc)}) from None
    section = changelog_for(service, result.next_version, sources, date) if result.next_version else ""
    return {
        "service": service.slug,
        "current_version": result.current_version,
        "next_version": result.next_version,
        "bump": result.bump,
        "channel": result.channel,
        "explanation": result.explain(),
        "changelog": section,
        "invalid_commits": [{"sha": c.sha, "subject": c.subject, "errors": list(c.errors)}
                            for c in result.invalid_commits],
        "release_as": result.release_as.version if result.release_as else None,
        "policy": policy.to_dict(),
    }


def previous_release(service: Service, version: str) -> Release | None:
    """The release with the highest precedence below `version`."""
    key = semver.parse(version).precedence_key()
    below = [(semver.parse(r.version).precedence_key(), r) for r in
             Release.objects.filter(service=service).only("id", "version", "service_id")]
    below = [pair for pair in below if pair[0] < key]
    return max(below, key=lambda pair: pair[0])[1] if below else None


def bump_of(*, commits: list[SourceCommit], policy: BumpPolicy, current: str | None) -> str:
    """The change level the commits warrant after `current` under the policy (none/patch/minor/major)."""
    try:
        return next_version(current=current, commits=commits, policy=policy).bump
    except VersioningError:
        return ""


def provider_ref_for(release: Release) -> str:
    """The provider's id of the release's build: from its latest deployment that has one, else its artifacts."""
    ref = (Deployment.objects.filter(release=release, status=Deployment.Status.SUCCEEDED).exclude(provider_ref="")
           .order_by("-finished_at", "-id").values_list("provider_ref", flat=True).first())
    if ref:
        return ref
    artifacts = release.artifacts if isinstance(release.artifacts, dict) else {}
    for key in ("vercel_deployment_id", "provider_ref"):
        value = artifacts.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
