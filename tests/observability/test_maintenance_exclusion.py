"""A maintenance window declared beforehand can be left out of an SLO (per SLO, off by default), and the budget
figures say so."""

from datetime import timedelta

import pytest

from observability import queries, services, slo_math
from tests.observability.conftest import slo_named, steady


@pytest.fixture
def bad_hour_in_a_window(service, production, write_points, now, system_user):
    """A week of clean traffic with one hour of 50% errors three hours ago."""
    end = slo_math.window_end(now)
    points = steady(end, 7 * 24 * 60, total=100)
    bad_start = end - timedelta(hours=3)
    for m in range(60):
        minute = bad_start + timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=50)
    write_points(service, production, points)
    return bad_start, end


def _declare(service, system_user, start, end, *, created_at=None):
    from status import services as status_services
    from status.models import Incident

    window = status_services.schedule_maintenance(service=service, name="Upgrade", body="Planned.",
                                                  scheduled_for=start, scheduled_until=end, actor=system_user,
                                                  reason="declared beforehand")
    if created_at is not None:  # arranging the past: the window was entered at `created_at`
        from governance.audit_base import history_recorded_by_caller

        with history_recorded_by_caller():
            Incident.objects.filter(pk=window.pk).update(created_at=created_at)
    return window


def test_off_by_default__the_window_still_counts(service, production, bad_hour_in_a_window, system_user, now):
    start, _ = bad_hour_in_a_window
    _declare(service, system_user, start, start + timedelta(hours=1), created_at=start - timedelta(days=2))
    slo = slo_named(service, production, "api-success")
    assert slo.exclude_maintenance is False
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None
    assert status.report.total - status.report.good == 3000
    assert status.figures()["maintenance_excluded"] is False


def test_on__a_window_declared_beforehand_is_left_out_and_shown(service, production, bad_hour_in_a_window,
                                                                 system_user, now, admin_client):
    start, _ = bad_hour_in_a_window
    _declare(service, system_user, start, start + timedelta(hours=1), created_at=start - timedelta(days=2))
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
    _declare(service, system_user, start, start + timedelta(hours=1), created_at=start + timedelta(minutes=30))
    slo = services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                              actor=system_user, reason="r")
    [status] = queries.slo_statuses([slo], now=now)
    assert status.report is not None
    assert status.report.total - status.report.good == 3000 and status.excluded_minutes == 0


def _admin() -> str:
    from django.conf import settings

    return settings.ADMIN_PATH
