"""SLO snapshots before and a configurable time after every production deployment."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_q.models import Schedule

from governance import hooks
from observability import queries, services, slo_math
from observability.models import SloSnapshot
from tests.observability.conftest import steady


def _deployment(service, environment, pk=501):
    return SimpleNamespace(pk=pk, environment=environment, release=SimpleNamespace(service_id=service.pk, pk=9))


def _run_schedule(schedule: Schedule) -> None:
    """What the django-q2 scheduler does when the schedule is due: call its function with its args."""
    from django.utils.module_loading import import_string

    import_string(schedule.func)(*eval(schedule.args))  # noqa: S307 - django-q2 stores args as a Python literal


def test_hook__is_registered(db):
    assert services.on_deployment_recorded in hooks.DEPLOYMENT_RECORDED


def test_production_deployment__before_snapshot_now_and_after_scheduled(service, production, write_points, now,
                                                                        settings):
    settings.SLO_SNAPSHOT_AFTER_MINUTES = 45
    write_points(service, production, steady(slo_math.window_end(now), 120, total=100, errors=1))

    for hook in hooks.DEPLOYMENT_RECORDED:
        hook(deployment=_deployment(service, production))

    before = SloSnapshot.objects.filter(deployment_id=501, kind="deploy_before")
    assert sorted(before.values_list("slo__name", flat=True)) == ["api-latency", "api-success", "availability",
                                                                   "database-errors"]
    success = before.get(slo__name="api-success")
    assert (success.good, success.total) == (11_880, 12_000)
    schedule = Schedule.objects.get(name=services.after_schedule_name(501))
    assert schedule.func == "observability.tasks.snapshot_after_deployment"
    assert schedule.schedule_type == Schedule.ONCE
    due = schedule.next_run - timezone.now()
    assert timedelta(minutes=44) < due <= timedelta(minutes=45)

    summary = queries.snapshots_for_deployment(501)
    assert summary["after_pending"] is True and len(summary["before"]) == 4 and summary["after"] == []


def test_after_snapshot__completes_the_summary(service, production, write_points, now):
    write_points(service, production, steady(slo_math.window_end(now), 120, total=100))
    services.on_deployment_recorded(deployment=_deployment(service, production))
    # The deployment went badly: the latest minutes are re-reported with errors (a replace, same source).
    end = slo_math.window_end(now)
    bad = {end - timedelta(minutes=m): slo_math.SliPoint(minute=end - timedelta(minutes=m), total=100, errors=10)
           for m in range(1, 11)}
    write_points(service, production, bad)

    _run_schedule(Schedule.objects.get(name=services.after_schedule_name(501)))

    summary = queries.snapshots_for_deployment(501)
    assert summary["after_pending"] is False and len(summary["after"]) == 4
    change = next(c for c in summary["changes"] if c["slo"] == "api-success")
    # 12,000 requests allow 12 bad ones: 0 before, 100 after.
    assert (change["verdict_before"], change["verdict_after"]) == ("met", "breached")
    assert change["before"] == 1.0 and change["after"] == pytest.approx(1 - 100 / 12)
    after = next(s for s in summary["after"] if s["slo"] == "api-success")
    assert (after["good"], after["total"]) == (11_900, 12_000)
    assert change["delta"] == pytest.approx(-100 / 12)


def test_hook_twice__keeps_one_snapshot_per_kind_and_one_schedule(service, production):
    services.on_deployment_recorded(deployment=_deployment(service, production))
    services.on_deployment_recorded(deployment=_deployment(service, production))
    assert SloSnapshot.objects.filter(deployment_id=501, kind="deploy_before").count() == 4
    assert Schedule.objects.filter(name=services.after_schedule_name(501)).count() == 1


def test_preview_deployment__takes_no_snapshot(service, preview):
    services.on_deployment_recorded(deployment=_deployment(service, preview))
    assert not SloSnapshot.objects.exists()
    assert not Schedule.objects.filter(name=services.after_schedule_name(501)).exists()


def test_unknown_deployment__summary_is_empty(db):
    assert queries.snapshots_for_deployment(999) == {"deployment_id": 999, "before": [], "after": [],
                                                     "after_pending": False, "changes": []}
