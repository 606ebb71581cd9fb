"""Reads that encode a rule: the latest release, the gate policy that applies, who may approve, DORA."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from govctl.releases import semver
from govctl.releases.conventional import SourceCommit, classify
from govctl.releases.versioning import BumpPolicy, VersioningError

from governance import queries as governance_queries
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


def release_for_build(service: Service, *, build_sha: str, commits: list[dict[str, Any]]) -> Release | None:
    """The first release of the service registered for this build SHA and these (normalised) commits."""
    return (Release.objects.filter(service=service, build_sha=build_sha, commits=commits)
            .order_by("created_at", "pk").first())


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
    """Lower-cased identities of the release's author and committers (logins, emails, names of 'Name <email>')."""
    people: set[str] = set()
    for raw in [release.author, *(c.get("author", "") for c in release.commits if isinstance(c, dict))]:
        text = (raw or "").strip().lower() if isinstance(raw, str) else ""
        if not text:
            continue
        people.add(text)
        people.update(_EMAIL_IN_ANGLES.findall(text))
        if "<" in text:
            people.add(text.split("<", 1)[0].strip())
    return people - {""}


def registered_by(release: Release) -> Any:
    """The account (a token's owner, or a person in the admin) that registered the release, from its history."""
    first = release.history.filter(history_type="+").select_related("history_user").order_by("history_date").first()
    return first.history_user if first is not None else None


def may_approve(user: Any, release: Release) -> tuple[bool, str]:
    """Whether the user may approve the release, and why not."""
    if not user.is_active or not user.has_perm("releases.add_approval"):
        return False, f"{user.get_username()} is not a release manager"
    why_not = governance_queries.second_person_refusal(user, authors=[registered_by(release)],
                                                        author_identities=people_of(release))
    if why_not:
        return False, f"{why_not} ({release})"
    return True, ""


def standing_approvals(release: Release, environment: Environment, now: datetime | None = None) -> list[Approval]:
    """Approvals that count now: not voided, not expired, for the current evidence, by an eligible person."""
    now = now or timezone.now()
    approvals = (Approval.objects.select_related("approver")
                 .filter(release=release, environment=environment, voided_at__isnull=True,
                         evidence_digest=release.evidence_digest, expires_at__gt=now))
    return [a for a in approvals if may_approve(a.approver, release)[0]]


def approval_status(approval: Approval, release: Release, now: datetime | None = None) -> str:
    """How one approval of the release stands now, in words (the release page and the deploy summary)."""
    if approval.voided_at:
        return f"voided: {approval.void_reason}"
    if approval.evidence_digest != release.evidence_digest:
        return "signed earlier evidence"
    if approval.expires_at <= (now or timezone.now()):
        return "expired"
    return f"standing until {approval.expires_at:%Y-%m-%d %H:%M} UTC"


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


def previous_release(service: Service, version: str) -> Release | None:
    """The release with the highest precedence below `version`."""
    key = semver.parse(version).precedence_key()
    below = [(semver.parse(r.version).precedence_key(), r) for r in
             Release.objects.filter(service=service).only("id", "version", "service_id")]
    below = [pair for pair in below if pair[0] < key]
    return max(below, key=lambda pair: pair[0])[1] if below else None


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


# --- DORA ------------------------------------------------------------------------------------------

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class DoraPeriod:
    start: datetime
    end: datetime
    deployments: int
    lead_time_median: timedelta | None
    failures: int
    change_failure_rate: float | None
    restores: int
    time_to_restore_median: timedelta | None


@dataclass(frozen=True)
class DoraReport:
    service: Service | None
    period: str
    since: datetime
    until: datetime
    failure_window: timedelta
    periods: list[DoraPeriod]
    total: DoraPeriod

    @property
    def deployments_per_week(self) -> float:
        weeks = max((self.until - self.since).total_seconds() / (7 * 86400), 1 / 7)
        return self.total.deployments / weeks


def _period_start(moment: datetime, period: str) -> datetime:
    moment = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return moment - timedelta(days=moment.weekday())
    if period == "month":
        return moment.replace(day=1)
    return moment


def _next_start(start: datetime, period: str) -> datetime:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _median(values: list[timedelta]) -> timedelta | None:
    return statistics.median(values) if values else None  # type: ignore[type-var]  # timedeltas add and halve


def _is_hotfix(candidate: Release, failed: Release) -> bool:
    """A patch release on the same major.minor that carries at least one `fix` commit."""
    try:
        new, old = semver.parse(candidate.version), semver.parse(failed.version)
    except semver.InvalidVersion:
        return False
    if (new.major, new.minor) != (old.major, old.minor) or new.core.patch <= old.core.patch or new.prerelease:
        return False
    parsed, _ = classify(SourceCommit(c["sha"], c["message"]) for c in candidate.commits)
    return any(p.commit.normalized_type == "fix" for p in parsed)


def _summarise(start: datetime, end: datetime, changes: list[dict[str, Any]]) -> DoraPeriod:
    leads = [c["lead"] for c in changes if c["lead"] is not None]
    failed = [c for c in changes if c["restore"] is not None]
    return DoraPeriod(
        start=start, end=end, deployments=len(changes), lead_time_median=_median(leads), failures=len(failed),
        change_failure_rate=(len(failed) / len(changes)) if changes else None, restores=len(failed),
        time_to_restore_median=_median([c["restore"] for c in failed]),
    )


def dora_metrics(*, since: datetime, until: datetime, service: Service | None = None, period: str = "week",
                 failure_window: timedelta | None = None) -> DoraReport:
    """DORA's four keys from production promotion and rollback records, per period.

    - deployment frequency: releases that went live in production (first time per release; rollbacks excluded);
    - lead time for changes: the release's first commit → live in production (median);
    - change failure rate: share of those followed within `failure_window` by a rollback away from the release
      or by a hotfix (a patch release on the same major.minor with a `fix` commit) going live;
    - time to restore: live → that rollback or hotfix live (median, over the failed changes).
    """
    if period not in PERIODS:
        raise ValidationError({"period": f"use one of {', '.join(PERIODS)}"})
    if until <= since:
        raise ValidationError({"until": "the end of the range must be after its start"})
    window = failure_window or timedelta(hours=settings.RELEASES_DORA_FAILURE_WINDOW_HOURS)
    records = (Deployment.objects.select_related("release")
               .filter(environment__is_production=True, status=Deployment.Status.SUCCEEDED,
                       finished_at__isnull=False, finished_at__lt=until + window)
               .order_by("finished_at", "id"))
    if service is not None:
        records = records.filter(service=service)
    # each deployment with the time it went live
    live: dict[int, tuple[Deployment, datetime]] = {}  # release id → its first production deployment
    rollbacks: list[tuple[Deployment, datetime]] = []
    for d in records:
        finished = d.finished_at
        assert finished is not None  # the query selects finished deployments only
        if d.kind == Deployment.Kind.ROLLBACK:
            rollbacks.append((d, finished))
        elif d.release_id not in live:
            live[d.release_id] = (d, finished)
    by_service: dict[int, list[tuple[Deployment, datetime]]] = {}
    for d, finished in live.values():
        by_service.setdefault(d.service_id, []).append((d, finished))

    changes: list[dict[str, Any]] = []
    for d, at in live.values():
        if not since <= at < until:
            continue
        lead = at - d.release.first_commit_at if d.release.first_commit_at else None
        horizon = at + window
        restored = [r_at for r, r_at in rollbacks if r.replaces_id == d.release_id and at <= r_at <= horizon]
        restored += [h_at for h, h_at in by_service[d.service_id]
                     if at < h_at <= horizon and _is_hotfix(h.release, d.release)]
        restore = min(restored) - at if restored else None
        changes.append({"at": at, "lead": lead, "restore": restore})

    periods = []
    start = _period_start(since, period)
    while start < until:
        end = _next_start(start, period)
        periods.append(_summarise(start, end, [c for c in changes if start <= c["at"] < end]))
        start = end
    return DoraReport(service=service, period=period, since=since, until=until, failure_window=window,
                      periods=periods, total=_summarise(since, until, changes))
