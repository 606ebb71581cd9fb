"""A checker run that did not happen in time opens a missed-run alert; a fresh run resolves it."""

from datetime import timedelta

from django_q.models import Schedule

from governance.schedules import ensure_schedules
from observability import services
from observability.models import SloAlert, SloCheckRun
from observability.schedules import HOURLY_SCHEDULE, NIGHTLY_SCHEDULE


def _open_missed():
    return {a.dedupe_key for a in SloAlert.objects.filter(kind="missed_run", resolved_at__isnull=True)}


def test_schedules__include_the_hourly_nightly_and_staleness_checks(db):
    names = ensure_schedules()
    assert {HOURLY_SCHEDULE, NIGHTLY_SCHEDULE, "observability: SLO check staleness"} <= set(names)
    hourly = Schedule.objects.get(name=HOURLY_SCHEDULE)
    assert (hourly.func, hourly.schedule_type, hourly.minutes) == ("observability.tasks.check_slos_hourly", "I", 60)
    nightly = Schedule.objects.get(name=NIGHTLY_SCHEDULE)
    assert (nightly.schedule_type, nightly.cron) == ("C", "15 2 * * *")


def test_late_hourly_run__opens_a_missed_run_alert_once(db, now, settings):
    services.run_slo_check(kind="hourly", now=now)
    services.run_slo_check(kind="nightly", now=now)
    late = now + timedelta(minutes=settings.SLO_CHECK_INTERVAL_MINUTES + settings.SLO_CHECK_GRACE_MINUTES + 1)

    results = services.check_staleness(now=late)
    services.check_staleness(now=late + timedelta(minutes=15))

    assert [(r.kind, r.stale) for r in results] == [("hourly", True), ("nightly", False)]
    assert _open_missed() == {"missed:hourly"}
    alert = SloAlert.objects.get(dedupe_key="missed:hourly")
    assert alert.severity == "warning" and "missed its hourly run" in alert.summary


def test_fresh_run__resolves_the_missed_run_alert(db, now, settings):
    services.run_slo_check(kind="nightly", now=now)
    SloCheckRun.objects.create(kind="hourly", status="ok", started_at=now - timedelta(hours=3),
                               finished_at=now - timedelta(hours=3))
    services.check_staleness(now=now)
    assert _open_missed() == {"missed:hourly"}

    services.run_slo_check(kind="hourly", now=now)
    services.check_staleness(now=now + timedelta(minutes=1))

    assert _open_missed() == set()
    assert SloAlert.objects.get(dedupe_key="missed:hourly").resolved_at is not None


def test_never_ran__late_once_the_first_scheduled_run_is_past_grace(db, now):
    ensure_schedules()
    Schedule.objects.filter(name=HOURLY_SCHEDULE).update(next_run=now - timedelta(hours=2))
    Schedule.objects.filter(name=NIGHTLY_SCHEDULE).update(next_run=now + timedelta(hours=5))

    results = {r.kind: r for r in services.check_staleness(now=now)}

    assert results["hourly"].stale and "never completed" in results["hourly"].detail
    assert not results["nightly"].stale


def test_failed_runs__do_not_count_as_fresh(db, now, settings):
    SloCheckRun.objects.create(kind="hourly", status="failed", started_at=now, finished_at=now)
    SloCheckRun.objects.create(kind="hourly", status="ok", started_at=now - timedelta(hours=5),
                               finished_at=now - timedelta(hours=5))
    results = {r.kind: r for r in services.check_staleness(now=now)}
    assert results["hourly"].stale
