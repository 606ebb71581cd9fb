"""The SLO checker: snapshots (scheduled, manual, around deployments), the hourly/nightly run under an advisory
lock, and the staleness check of its own schedules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance import services as core
from governance.locks import advisory_lock
from observability import queries, slo_math
from observability.models import Slo, SloCheckRun, SloSnapshot
from observability.schedules import HOURLY_SCHEDULE, NIGHTLY_SCHEDULE
from observability.services.alerts import _duration, _reconcile_missed_run, reconcile_alerts
from observability.services.definitions import purge_sli_points

CHECK_LOCK = "observability:slo-check"  # advisory lock name (governance.locks): one checker run at a time


def _snapshot(status: queries.SloStatus, *, kind: str, check_run: SloCheckRun | None = None,
              deployment_id: int | None = None, now: datetime) -> SloSnapshot:
    report = status.report
    burn = [{"long": _duration(x.long_window), "short": _duration(x.short_window), "factor": float(x.factor),
             "long_rate": float(x.long_burn_rate), "short_rate": float(x.short_burn_rate), "action": x.action.value,
             "firing": x.firing} for x in status.decisions]
    return SloSnapshot(
        slo=status.slo, kind=kind, taken_at=now, window_end=status.window_end, check_run=check_run,
        deployment_id=deployment_id, objective=status.slo.objective, window_minutes=status.slo.window_minutes,
        good=report.good if report else 0, total=report.total if report else 0,
        verdict=report.verdict.value if report else slo_math.Verdict.INSUFFICIENT_DATA.value,
        compliance=float(report.compliance) if report and report.compliance is not None else None,
        budget_remaining=float(report.remaining) if report else 0.0,
        budget_remaining_fraction=(float(report.remaining_fraction)
                                   if report and report.remaining_fraction is not None else None),
        burn_rates=burn, error=status.error or ("" if report else "no figures"),
    )


def take_snapshots(*, slos: Iterable[Slo], kind: str, deployment_id: int | None = None,
                   now: datetime | None = None) -> list[SloSnapshot]:
    """Snapshot SLOs at once (deployments, manual); a deployment's snapshot of one kind is taken once."""
    now = now or timezone.now()
    statuses = queries.slo_statuses(slos, now=now)
    rows = [_snapshot(s, kind=kind, deployment_id=deployment_id, now=now) for s in statuses]
    # ignore_conflicts: the hook or task may run twice for one deployment; the first snapshot stands.
    return SloSnapshot.objects.bulk_create(rows, ignore_conflicts=deployment_id is not None)


def run_slo_check(*, kind: str, now: datetime | None = None, slo_ids: Iterable[int] | None = None) -> SloCheckRun:
    """The checker: snapshot every enabled SLO, open and resolve burn-rate alerts; one run at a time.

    Nightly runs (kind "nightly") also purge SLI points past the retention and hourly snapshots past
    theirs. Runs as the system user; guarded by an advisory lock (governance.locks; a second run is recorded as skipped).
    """
    now = now or timezone.now()
    actor = core.system_user()
    with advisory_lock(CHECK_LOCK, wait=False, scope="session") as acquired:
        if not acquired:
            return SloCheckRun.objects.create(kind=kind, status=SloCheckRun.Status.SKIPPED, started_at=now,
                                              finished_at=timezone.now(), detail="another check holds the lock")
        run = SloCheckRun.objects.create(kind=kind, started_at=now, window_end=slo_math.window_end(now))
        try:
            slos = list(queries.slos_for_check(slo_ids=slo_ids))
            statuses = queries.slo_statuses(slos, now=now)
            with transaction.atomic():
                snapshot_kind = kind if kind in SloSnapshot.Kind.values else SloSnapshot.Kind.MANUAL
                SloSnapshot.objects.bulk_create(
                    [_snapshot(s, kind=snapshot_kind, check_run=run, now=now) for s in statuses], batch_size=500)
                opened, resolved = reconcile_alerts(statuses, actor=actor, reason=f"slo checker ({kind} run)",
                                                    now=now, full=slo_ids is None)
            details = []
            if kind == SloCheckRun.Kind.NIGHTLY:
                purged = purge_sli_points(older_than=timedelta(days=settings.SLI_RETENTION_DAYS), now=now)
                with transaction.atomic():
                    old, _ = SloSnapshot.objects.filter(
                        kind=SloSnapshot.Kind.HOURLY,
                        taken_at__lt=now - timedelta(days=settings.SLO_SNAPSHOT_RETENTION_DAYS)).delete()
                details.append(f"purged {purged} SLI points and {old} hourly snapshots")
            errors = [f"{s.slo}: {s.error}" for s in statuses if s.error]
            details += errors[:20]
        except Exception as exc:
            run.status, run.finished_at = SloCheckRun.Status.FAILED, timezone.now()
            run.detail = f"{type(exc).__name__}: {exc}"[:2000]
            run.save(update_fields=["status", "finished_at", "detail"])
            raise
        run.status, run.finished_at = SloCheckRun.Status.OK, timezone.now()
        run.slo_count, run.alerts_opened, run.alerts_resolved = len(statuses), opened, resolved
        run.detail = "\n".join(details)[:2000]
        run.save(update_fields=["status", "finished_at", "slo_count", "alerts_opened", "alerts_resolved", "detail"])
        return run


@dataclass(frozen=True)
class Staleness:
    kind: str
    stale: bool
    detail: str


def check_staleness(*, now: datetime | None = None) -> list[Staleness]:
    """Open a missed-run alert for each checker schedule that has not completed in time; resolve it once it has.

    A run is due every SLO_CHECK_INTERVAL_MINUTES (hourly) or every day (nightly); late means no
    successful run for the interval plus SLO_CHECK_GRACE_MINUTES. Never having run is late once the
    schedule exists and its first run is past the grace period.
    """
    from django_q.models import Schedule

    now = now or timezone.now()
    grace = timedelta(minutes=settings.SLO_CHECK_GRACE_MINUTES)
    expectations = [(SloCheckRun.Kind.HOURLY, HOURLY_SCHEDULE, timedelta(minutes=settings.SLO_CHECK_INTERVAL_MINUTES)),
                    (SloCheckRun.Kind.NIGHTLY, NIGHTLY_SCHEDULE, timedelta(days=1))]
    actor = core.system_user()
    results = []
    for kind, schedule_name, interval in expectations:
        last = (SloCheckRun.objects.filter(kind=kind, status=SloCheckRun.Status.OK)
                .order_by("-finished_at").values_list("finished_at", flat=True).first())
        if last is not None:
            age = now - last
            stale = age > interval + grace
            detail = f"last successful {kind} check {int(age.total_seconds() // 60)} min ago (due every " \
                     f"{int(interval.total_seconds() // 60)} min + {int(grace.total_seconds() // 60)} min grace)"
        else:
            schedule = Schedule.objects.filter(name=schedule_name).first()
            if schedule is None:
                stale, detail = True, f"the {kind} check is not scheduled (run manage.py ensure_schedules)"
            else:
                stale = schedule.next_run is not None and schedule.next_run < now - grace
                due = f"{schedule.next_run:%Y-%m-%d %H:%M}" if schedule.next_run else "not set"
                detail = f"the {kind} check has never completed (next run {due})"
        results.append(Staleness(kind, stale, detail))
        _reconcile_missed_run(kind=kind, stale=stale, detail=detail, actor=actor, now=now)
    return results


def after_schedule_name(deployment_id: int) -> str:
    return f"observability: SLO snapshot after deployment {deployment_id}"


def on_deployment_recorded(*, deployment: Any) -> None:
    """governance.hooks.DEPLOYMENT_RECORDED: snapshot a production deployment's SLOs now and again later.

    Uses only deployment.pk, deployment.environment and deployment.release.service_id (the releases
    app is not imported). The "after" snapshot is a django-q2 schedule SLO_SNAPSHOT_AFTER_MINUTES on.
    """
    from django_q.models import Schedule
    from django_q.tasks import schedule

    environment = deployment.environment
    if not environment.is_production:
        return
    service_id = deployment.release.service_id
    slos = queries.slos_for_check().filter(service_id=service_id, environment_id=environment.pk)
    take_snapshots(slos=slos, kind=SloSnapshot.Kind.DEPLOY_BEFORE, deployment_id=deployment.pk)
    name = after_schedule_name(deployment.pk)
    if not Schedule.objects.filter(name=name).exists():
        schedule("observability.tasks.snapshot_after_deployment", deployment.pk, service_id, environment.pk,
                 name=name, schedule_type=Schedule.ONCE,
                 next_run=timezone.now() + timedelta(minutes=settings.SLO_SNAPSHOT_AFTER_MINUTES))


def snapshot_after_deployment(*, deployment_id: int, service_id: int, environment_id: int) -> list[SloSnapshot]:
    slos = queries.slos_for_check().filter(service_id=service_id, environment_id=environment_id)
    return take_snapshots(slos=slos, kind=SloSnapshot.Kind.DEPLOY_AFTER, deployment_id=deployment_id)
