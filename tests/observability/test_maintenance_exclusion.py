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


def _admin() -> str:
    from django.conf import settings

    return settings.ADMIN_PATH
