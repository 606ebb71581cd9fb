"""The admin home's "needs attention now": one read-only query per concern, each row linking to where it is handled.

Reads only (no service call, no write): the admin home must be safe to reload at 3 a.m. Each app's own
queries module stays the home of its rules (stale flags, overdue drills); this module only gathers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class Item:
    text: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Concern:
    key: str
    title: str
    items: list[Item]
    more_url: str
    empty: str
    severity: str = "block"  # the colour of a non-empty concern (portal.css verdict classes)
    total: int | None = None  # when more exist than the rows shown

    @property
    def count(self) -> int:
        return len(self.items) if self.total is None else self.total


LIMIT = 8  # rows per concern on the home page; the "all" link has the rest


def _when(moment: object) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""  # type: ignore[arg-type]


def open_alerts() -> Concern:
    from observability.models import SloAlert

    rows = (SloAlert.objects.filter(resolved_at__isnull=True).select_related("slo__service", "slo__environment")
            .order_by("severity", "-opened_at")[:LIMIT])
    items = [Item(f"{a.severity}: {a.summary}", reverse("admin:observability_sloalert_change", args=[a.pk]),
                  f"since {_when(a.opened_at)}" + (f", acknowledged by {a.acknowledged_by}" if a.acknowledged_by
                                                    else ", not acknowledged"))
             for a in rows]
    return Concern("alerts", "Open SLO alerts", items,
                   reverse("admin:observability_sloalert_changelist") + "?resolved_at__isnull=True",
                   "No open alerts.")


def engaged_switches() -> Concern:
    from flags.models import FlagState, Kind
    from flags.services import MAINTENANCE

    rows = (FlagState.objects.filter(flag__kind=Kind.KILL_SWITCH, flag__archived_at__isnull=True, enabled=True)
            .select_related("flag__service", "environment").order_by("-environment__is_production", "flag__key"))
    items = []
    for s in rows[:LIMIT]:
        what = "maintenance mode" if s.flag.key == MAINTENANCE else f"kill switch {s.flag.key}"
        note = f"expires {_when(s.expires_at)}" if s.expires_at else "no expiry: on until someone turns it off"
        items.append(Item(f"{s.flag.service.slug}: {what} engaged in {s.environment.slug}",
                          reverse("admin:flags_ops_console", args=[s.flag.service.slug]), note))
    return Concern("switches", "Engaged kill switches and maintenance", items,
                   reverse("admin:flags_ops_index"), "Nothing engaged.", severity="pending")


def pending_change_requests() -> Concern:
    from flags.models import ChangeRequest

    rows = (ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING)
            .select_related("state__flag__service", "state__environment", "author").order_by("created_at")[:LIMIT])
    items = [Item(f"#{c.pk} {c.operation_in_words}: {c.state}", reverse("admin:flags_changerequest_change",
                                                                             args=[c.pk]),
                  f"by {c.author.get_username()} {_when(c.created_at)}: waiting for a second person")
             for c in rows]
    return Concern("change_requests", "Change requests waiting for a second person", items,
                   reverse("admin:flags_changerequest_changelist") + "?status__exact=pending",
                   "No pending change requests.", severity="pending")


def releases_awaiting_approval() -> Concern:
    from releases.models import Release

    rows = (Release.objects.filter(state=Release.State.AWAITING_APPROVAL).select_related("service")
            .order_by("state_changed_at")[:LIMIT])
    items = [Item(str(r), reverse("admin:releases_release_change", args=[r.pk]),
                  f"awaiting approval since {_when(r.state_changed_at)}") for r in rows]
    return Concern("approvals", "Releases awaiting approval", items,
                   reverse("admin:releases_release_changelist") + "?state__exact=awaiting_approval",
                   "No release is waiting for an approval.", severity="pending")


def promotions_in_progress() -> Concern:
    from releases.models import Deployment

    rows = (Deployment.objects.filter(status__in=Deployment.ACTIVE)
            .select_related("release__service", "environment").order_by("created_at")[:LIMIT])
    items = [Item(f"{d.get_kind_display()} of {d.release} to {d.environment.slug}",
                  reverse("admin:releases_release_change", args=[d.release_id]),
                  f"{d.status} since {_when(d.created_at)}") for d in rows]
    return Concern("promotions", "Promotions and rollbacks in progress", items,
                   reverse("admin:releases_deployment_changelist") + "?status__exact=running",
                   "None in progress.", severity="pending")


def drills() -> Concern:
    from recovery import queries as recovery_queries
    from recovery.models import Drill

    now = timezone.now()
    failed = (Drill.objects.filter(status=Drill.Status.FAILED, finished_at__gte=now - timedelta(days=7))
              .select_related("target").order_by("-finished_at")[:LIMIT])
    items = [Item(f"FAILED {d.scope}", reverse("admin:recovery_drill_change", args=[d.pk]),
                  f"finished {_when(d.finished_at)}") for d in failed]
    for t in recovery_queries.overdue_targets(now=now, max_age_days=settings.DR_DRILL_MAX_AGE_DAYS)[:LIMIT]:
        last = f"last passed {_when(t.last_passed)}" if t.last_passed else "never passed"
        items.append(Item(f"{t.name}: restore drill overdue", reverse("admin:recovery_backuptarget_change",
                                                                      args=[t.pk]), last))
    return Concern("drills", "Failed or overdue DR drills", items,
                   reverse("admin:recovery_drill_changelist") + "?status__exact=failed",
                   "Drills are passing and on schedule.")


def stale_flags() -> Concern:
    from flags import queries as flag_queries

    stale = flag_queries.stale_flags()
    items = [Item(str(s.flag), reverse("admin:flags_flag_change", args=[s.flag.pk]), s.why) for s in stale[:LIMIT]]
    return Concern("stale_flags", "Stale flags (remove them)", items, reverse("admin:flags_stale_report"),
                   "No stale flags.", severity="pending", total=len(stale))


def github_controls() -> Concern:
    """Branch protection that does not match the gate policy (latest review per service), and a GitHub
    audit-log import whose last run failed (the trail misses GitHub's events until it is fixed)."""
    from releases.models import BranchProtectionReview, GitHubAuditImport

    latest = (BranchProtectionReview.objects.order_by("service_id", "-reviewed_at", "-id")
              .distinct("service_id").select_related("service"))
    items = [Item(f"{r.service.slug}: branch protection of {r.repository}@{r.branch} does not match the gate policy",
                  reverse("admin:releases_branchprotectionreview_change", args=[r.pk]), r.message)
             for r in latest if r.result == BranchProtectionReview.Result.MISMATCH][:LIMIT]
    last_runs = (GitHubAuditImport.objects.exclude(status=GitHubAuditImport.Status.SKIPPED)
                 .order_by("org", "-started_at", "-id").distinct("org"))
    items += [Item(f"GitHub audit-log import of {run.org} failed",
                   reverse("admin:releases_githubauditimport_change", args=[run.pk]),
                   f"{_when(run.started_at)}: {run.error}")
              for run in last_runs if run.status == GitHubAuditImport.Status.FAILED][:LIMIT]
    return Concern("github", "GitHub controls", items,
                   reverse("admin:releases_branchprotectionreview_changelist"),
                   "No branch-protection mismatch in the latest reviews, no failed GitHub import.")
def access_drift() -> Concern:
    from access import queries as access_queries

    latest = [s for s in access_queries.latest_snapshots() if s.status != "clean"]
    items = [Item(f"{s.target.name}: " + (f"{len(s.drift)} access finding(s)" if s.status == "drift"
                                          else "access review FAILED"),
                  reverse("admin:access_accesssnapshot_change", args=[s.pk]),
                  f"reviewed {_when(s.taken_at)}") for s in latest[:LIMIT]]
    return Concern("access_drift", "Database access drift", items,
                   reverse("admin:access_accesssnapshot_changelist"),
                   "Governed databases match their access policies.", total=len(latest))


def overdue_secrets() -> Concern:
    from access import queries as access_queries

    overdue = access_queries.overdue_secrets(timezone.now())
    items = [Item(f"{s}: rotation overdue", reverse("admin:access_secret_change", args=[s.pk]),
                  f"due {_when(s.due_at)}, owner {s.owner}") for s in overdue[:LIMIT]]
    return Concern("overdue_secrets", "Secrets overdue for rotation", items, reverse("admin:access_secret_changelist"),
                   "No secret is overdue for rotation.", severity="pending", total=len(overdue))


# (the concern, the permission needed to open where it is handled), in order of urgency
CONCERNS: list[tuple[Callable[[], Concern], str]] = [
    (open_alerts, "observability.view_sloalert"),
    (engaged_switches, "flags.view_flagstate"),
    (pending_change_requests, "flags.view_changerequest"),
    (releases_awaiting_approval, "releases.view_release"),
    (promotions_in_progress, "releases.view_deployment"),
    (drills, "recovery.view_drill"),
    (access_drift, "access.view_accesssnapshot"),
    (overdue_secrets, "access.view_secret"),
    (stale_flags, "flags.view_flag"),
    (github_controls, "releases.view_branchprotectionreview"),
]


def needs_attention(user: Any) -> list[Concern]:
    """The concerns this user may open, in the order of urgency the home page shows them."""
    return [concern() for concern, perm in CONCERNS if user.has_perm(perm)]
