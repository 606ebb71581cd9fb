"""The SLO page separates the live evaluation from the alert state, and shows no data as no data."""

from datetime import timedelta

from django.urls import reverse

from observability import slo_math
from tests.observability.conftest import slo_named, steady


def _page(client, auditor, service):
    client.force_login(auditor)
    return client.get(reverse("admin:observability_slo_service", args=[service.pk])).content.decode()


def test_slo_without_data__reads_no_data_not_budget_left(client, auditor, service, production):
    html = _page(client, auditor, service)
    slo = slo_named(service, production, "api-success")
    section = html.split(f'id="slo-{slo.pk}"')[1].split("</section>")[0]
    assert 'class="verdict verdict-nodata"' in section and "no data" in section
    assert "100.0%" not in section and "budget left" not in section.replace("whether budget is left", "")


def test_live_burn_before_the_scheduled_check__shown_as_firing_now_with_no_alert_yet(
        client, auditor, service, production, write_points, now):
    end = slo_math.window_end(now)
    points = steady(end, 7 * 24 * 60, total=100)
    for m in range(1, 71):
        minute = end - timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=20, latency_buckets={},
                                           db_queries=0, db_errors=0)
    write_points(service, production, points)  # no run_slo_check: the alert state lags the live figures
    html = _page(client, auditor, service)
    slo = slo_named(service, production, "api-success")
    section = html.split(f'id="slo-{slo.pk}"')[1].split("</section>")[0]
    assert "Live evaluation" in section and "Alert state" in section
    assert "firing</span>" in section
    assert "the next scheduled check opens an alert" in section
