"""A maintenance window declared beforehand can be left out of an SLO (per SLO, off by default), and the budget
figures say so."""

from datetime import timedelta

from observability import queries, services
from tests.observability.conftest import declare_maintenance, slo_named


def test_off_by_default__the_window_still_counts(service, production, bad_hour_in_a_window, system_user, now):
    start, _ = bad_hour_in_a_window
    declare_maintenance(service, system_user, start, start + timedelta(hours=1), created_at=start - timedelta(days=2))
    slo = slo_named(service, production, "api-success")
    assert slo.exclude_maintenance is False
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None
    assert status.report.total - status.report.good == 3000
    assert status.figures()["maintenance_excluded"] is False


def test_on__a_window_declared_beforehand_is_left_out_and_shown(service, production, bad_hour_in_a_window,
                                                                 system_user, now, admin_client):
    start, _ = bad_hour_in_a_window
    declare_maintenance(service, system_user, start, start + timedelta(hours=1), created_at=start - timedelta(days=2))
    slo = services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                              actor=system_user, reason="planned upgrades do not spend the budget")
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None

    assert status.report.total - status.report.good == 0 and status.report.total == (7 * 24 * 60 - 60) * 100
    assert status.figures()["maintenance_excluded"] is True
    assert status.figures()["maintenance_excluded_minutes"] == 60
    page = admin_client.get(f"/{_admin()}observability/slo/service/{service.pk}/").content.decode()
    assert "declared windows left out: 60 min in this window" in page


def test_on__a_window_entered_after_it_began_excuses_nothing(service, production, bad_hour_in_a_window,
                                                             system_user, now):
    start, _ = bad_hour_in_a_window
    declare_maintenance(service, system_user, start, start + timedelta(hours=1), created_at=start + timedelta(minutes=30))
    slo = services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                              actor=system_user, reason="r")
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None
    assert status.report.total - status.report.good == 3000 and status.excluded_minutes == 0


def test_on__a_cancelled_window_excuses_nothing_and_one_finished_early_ends_there(
        service, production, bad_hour_in_a_window, system_user, now):
    from governance.audit_base import history_recorded_by_caller
    from status import services as status_services
    from status.models import Incident

    start, _ = bad_hour_in_a_window
    cancelled = declare_maintenance(service, system_user, start, start + timedelta(hours=1),
                                    created_at=start - timedelta(days=2))
    status_services.post_update(incident=cancelled, status="completed", body="Cancelled.", actor=system_user,
                                reason="not needed")
    slo = services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                              actor=system_user, reason="r")
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None and status.excluded_minutes == 0  # never started: excuses nothing

    ran = declare_maintenance(service, system_user, start, start + timedelta(hours=1),
                              created_at=start - timedelta(days=2))
    status_services.post_update(incident=ran, status="in_progress", body="Started.", actor=system_user, reason="go")
    status_services.post_update(incident=ran, status="completed", body="Done early.", actor=system_user, reason="ok")
    with history_recorded_by_caller():  # arranging the past: it finished 20 minutes in
        Incident.objects.filter(pk=ran.pk).update(resolved_at=start + timedelta(minutes=20))
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None and status.excluded_minutes == 20
    assert status.report.total - status.report.good == 40 * 50  # the 40 bad minutes after it ended count


def _admin() -> str:
    from django.conf import settings

    return settings.ADMIN_PATH
