"""The SLO page per service, and the admin flows: edit an SLO, acknowledge an alert, grant an override."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from observability import services, slo_math
from observability.models import ErrorBudgetOverride, SloAlert
from tests.observability.conftest import slo_named, steady

MAX_QUERIES = 20


@pytest.fixture
def burning(service, production, preview, write_points, now):
    end = slo_math.window_end(now)
    points = steady(end, 7 * 24 * 60, total=100, latency_buckets={100: 80, 300: 97, 1000: 100}, db_queries=30)
    for m in range(1, 71):
        minute = end - timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=20,
                                           latency_buckets={100: 10, 300: 50, 1000: 90}, db_queries=30, db_errors=3)
    write_points(service, production, points)
    write_points(service, preview, steady(end, 600, total=10))
    services.run_slo_check(kind="hourly", now=now)


def test_slo_page__loads_for_an_auditor_with_bounded_queries(client, auditor, service, burning, settings):
    settings.FLAGS_MEMORY_TTL_SECONDS = 3600  # the portal's own flag guard: read once, then from memory
    client.force_login(auditor)
    url = reverse("admin:observability_slo_service", args=[service.pk])
    client.get(url)  # warm-up: the portal's flag snapshot and the session

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)

    assert response.status_code == 200
    assert len(ctx.captured_queries) <= MAX_QUERIES, len(ctx.captured_queries)
    html = response.content.decode()
    # One server-side burn-down chart per SLO (4 SLOs x 3 environments), each with its own accessible name.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" width="640"') == 12
    assert len(set(re.findall(r'aria-labelledby="(burndown-\d+)-title', html))) == 12
    assert "production · api-success" in html and "exhausted" in html and "breached" in html
    assert "13.44×" in html and "burning budget" in html  # the page's burn-rate table and its open alerts


def test_slo_page__query_count_does_not_grow_with_data(client, auditor, service, other_service, burning,
                                                       write_points, production, now, settings):
    settings.FLAGS_MEMORY_TTL_SECONDS = 3600  # the portal's own flag guard: read once, then from memory
    client.force_login(auditor)
    url = reverse("admin:observability_slo_service", args=[service.pk])
    client.get(url)  # warm-up: the portal's flag snapshot and the session
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    write_points(service, production, steady(slo_math.window_end(now) - timedelta(days=1), 600, total=7),
                 source="second")
    services.run_slo_check(kind="hourly", now=now)
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)


def test_slo_changelist__links_to_the_service_page(client, auditor, service):
    client.force_login(auditor)
    response = client.get(reverse("admin:observability_slo_changelist"))
    assert reverse("admin:observability_slo_service", args=[service.pk]) in response.content.decode()


def test_slo_page__needs_the_view_permission(client, make_user, service):
    nobody = make_user("nobody")
    client.force_login(nobody)
    assert client.get(reverse("admin:observability_slo_service", args=[service.pk])).status_code == 403


def test_edit_slo_in_admin__goes_through_the_service_with_a_reason(client, release_manager, service, production):
    slo = slo_named(service, production, "api-success")
    client.force_login(release_manager)
    url = reverse("admin:observability_slo_change", args=[slo.pk])
    form = {"display_name": slo.display_name, "description": slo.description, "sli_type": slo.sli_type,
            "objective": "0.995", "window_minutes": slo.window_minutes, "min_events": 200, "threshold_ms": "",
            "slice_error_threshold": "", "source": "points", "prometheus_good_query": "",
            "prometheus_total_query": "", "enabled": "on", "reason": "team agreed on 99.5%"}

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    slo.refresh_from_db()
    assert str(slo.objective) == "0.99500000" and slo.min_events == 200
    record = slo.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "team agreed on 99.5%")


def test_inconsistent_slo_in_admin__shows_the_rule_on_the_form(client, release_manager, service, production):
    slo = slo_named(service, production, "api-success")
    client.force_login(release_manager)
    url = reverse("admin:observability_slo_change", args=[slo.pk])
    form = {"sli_type": "request_success", "objective": "0.999", "window_minutes": 10080, "min_events": 0,
            "threshold_ms": "250", "slice_error_threshold": "", "source": "points", "enabled": "on",
            "reason": "oops"}

    response = client.post(url, form)

    assert response.status_code == 200
    assert "only latency SLOs have a threshold" in response.content.decode()
    slo.refresh_from_db()
    assert slo.threshold_ms is None


@pytest.mark.parametrize("minutes", [str(2**63), "0", str(60 * 24 * 90 + 1)])
def test_window_out_of_range_in_admin__is_a_form_error(client, release_manager, service, production, minutes):
    slo = slo_named(service, production, "api-success")
    client.force_login(release_manager)
    form = {"sli_type": slo.sli_type, "objective": "0.999", "window_minutes": minutes, "min_events": 0,
            "threshold_ms": "", "slice_error_threshold": "", "source": "points", "enabled": "on", "reason": "r"}

    response = client.post(reverse("admin:observability_slo_change", args=[slo.pk]), form)

    assert response.status_code == 200
    assert "window_minutes" in response.context["adminform"].form.errors
    slo.refresh_from_db()
    assert slo.window_minutes != int(minutes)


def test_operator__acknowledges_an_alert_with_a_reason(client, operator, service, burning):
    alert = SloAlert.objects.filter(resolved_at__isnull=True).first()
    assert alert is not None
    client.force_login(operator)
    url = reverse("admin:observability_sloalert_changelist")

    response = client.post(url, {"action": "acknowledge", ACTION_CHECKBOX_NAME: [alert.pk], "confirm": "yes",
                                 "reason": "on it: rolling back 2.3.1"})

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == "olga" and alert.acknowledged_at is not None
    assert alert.history.latest().history_change_reason == "on it: rolling back 2.3.1"


def test_operator__cannot_edit_slos(client, operator, service, production):
    client.force_login(operator)
    slo = slo_named(service, production, "api-success")
    response = client.post(reverse("admin:observability_slo_change", args=[slo.pk]), {"objective": "0.5",
                                                                                      "reason": "x"})
    assert response.status_code == 403


def test_release_manager__grants_an_override_in_the_admin(client, release_manager, service):
    client.force_login(release_manager)
    expires = timezone.now() + timedelta(hours=6)
    response = client.post(reverse("admin:observability_errorbudgetoverride_add"), {
        "service": service.pk, "release_id": "", "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"), "reason": "CVE fix cannot wait"})

    assert response.status_code == 302, response.content.decode()[:3000]
    override = ErrorBudgetOverride.objects.get()
    assert (override.granted_by, override.justification) == ("rita", "CVE fix cannot wait")


def test_override_too_long_in_the_admin__is_a_form_error(client, release_manager, service):
    client.force_login(release_manager)
    expires = timezone.now() + timedelta(days=30)
    response = client.post(reverse("admin:observability_errorbudgetoverride_add"), {
        "service": service.pk, "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"), "reason": "forever please"})
    assert response.status_code == 200 and "at most 168 hours" in response.content.decode()
    assert not ErrorBudgetOverride.objects.exists()


def test_snapshot_link_from_the_page__filters_by_slo(client, auditor, service, burning, production):
    client.force_login(auditor)
    slo = slo_named(service, production, "api-success")
    response = client.get(reverse("admin:observability_slosnapshot_changelist") + f"?slo__id__exact={slo.pk}")
    assert response.status_code == 200
    assert [snapshot.slo_id for snapshot in response.context["cl"].result_list] == [slo.pk]


def test_release_manager__adds_an_slo_in_the_admin(client, release_manager, service, production):
    client.force_login(release_manager)
    response = client.post(reverse("admin:observability_slo_add"), {
        "service": service.pk, "environment": production.pk, "name": "checkout-latency",
        "display_name": "Checkout p99", "description": "", "sli_type": "latency", "objective": "0.99",
        "window_minutes": 1440, "min_events": 100, "threshold_ms": 800, "slice_error_threshold": "",
        "source": "points", "prometheus_good_query": "", "prometheus_total_query": "", "enabled": "on",
        "reason": "checkout needs its own objective"})

    assert response.status_code == 302, response.content.decode()[:3000]
    slo = slo_named(service, production, "checkout-latency")
    assert slo.threshold_ms == 800
    record = slo.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "checkout needs its own objective")


def test_administrator__adds_a_webhook_channel_naming_its_secret_variable(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("admin:observability_notificationchannel_add"), {
        "name": "ops", "kind": "webhook", "url": "https://ops.example.com/hook", "secret_env": "OPS_HOOK_SECRET",
        "severities": ["critical", "warning"], "service": "", "enabled": "on", "reason": "page the ops team"})

    assert response.status_code == 302, response.content.decode()[:3000]
    from observability.models import NotificationChannel

    channel = NotificationChannel.objects.get(name="ops")
    assert channel.severities == ["critical", "warning"] and channel.secret_env == "OPS_HOOK_SECRET"
    assert channel.history.latest().history_change_reason == "page the ops team"


def test_webhook_channel_without_secret_variable__is_a_form_error(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("admin:observability_notificationchannel_add"), {
        "name": "ops", "kind": "webhook", "url": "https://ops.example.com/hook", "secret_env": "",
        "severities": ["critical"], "enabled": "on", "reason": "x"})
    assert response.status_code == 200 and "needs the name of the environment variable" in response.content.decode()


def test_alert_change_form__is_read_only(client, operator, service, burning):
    alert = SloAlert.objects.first()
    assert alert is not None
    client.force_login(operator)
    response = client.get(reverse("admin:observability_sloalert_change", args=[alert.pk]))
    assert response.status_code == 200 and 'name="_save"' not in response.content.decode()
