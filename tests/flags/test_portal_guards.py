"""The portal honours its own operational flags (service "portal") through govctl's Django middleware."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from flags import services
from governance.api.throttling import TokenRateThrottle
from governance.models import Environment, Service


@pytest.fixture
def portal(db):
    return Service.objects.get(slug="portal")


@pytest.fixture
def switch(portal, system_user):
    production = Environment.objects.get(slug="production")

    def engage(key):
        state = services.state_for(service=portal, environment=production, key=key)
        return services.engage_kill_switch(state=state, actor=system_user, reason=f"test: {key}")

    return engage


def test_maintenance__browsers_get_a_503_page_with_retry_after(client, switch):
    switch("maintenance_mode")
    response = client.get(reverse("admin:index"), HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html") and response["Retry-After"] == "300"
    assert b"maintenance" in response.content.lower()


def test_maintenance__api_clients_get_problem_json(api, make_token, switch):
    switch("maintenance_mode")
    response = api(make_token("flags:read")).get("/api/v1/whoami")
    assert response.status_code == 503 and response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Service under maintenance" and response["Retry-After"] == "300"


def test_maintenance__staff_health_checks_login_and_flag_delivery_pass(client, api, reader, operator, switch,
                                                                       service):
    switch("maintenance_mode")
    assert client.get("/healthz").status_code == 200
    assert b"maintenance" not in client.get("/readyz").content.lower()  # readiness answers for itself
    assert client.get(reverse("admin:login")).status_code == 200
    assert api(reader).get("/api/v1/flags/snapshot", {"service": "shop", "environment": "production"}
                           ).status_code == 200
    client.force_login(operator)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:flags_ops_console", args=["portal"])).status_code == 200


def test_maintenance__status_page_its_api_and_metrics_stay_up_for_customers_and_monitoring(client, switch):
    """In portal maintenance the status page is how customers learn about it, and monitoring keeps scraping."""
    switch("maintenance_mode")
    page = client.get("/status/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"<html" in page.content.lower()
    assert client.get("/api/v2/summary.json").json()["status"]["indicator"] in (
        "none", "minor", "major", "critical", "maintenance")
    assert client.get("/metrics").status_code == 200
    assert client.get("/admin/", HTTP_ACCEPT="text/html").status_code == 503  # the rest is under maintenance


def test_api_kill_switch__status_api_is_closed_with_the_rest_of_the_api(client, switch):
    switch("kill_switch_api")
    assert client.get("/api/v2/summary.json").status_code == 503
    assert client.get("/status/", HTTP_ACCEPT="text/html").status_code == 200  # the page is not the API


def test_api_kill_switch__503_on_api_paths_only(client, api, make_token, operator, switch):
    switch("kill_switch_api")
    response = api(make_token("flags:read")).get("/api/v1/whoami")
    assert response.status_code == 503 and response.json()["title"] == "API disabled"
    client.force_login(operator)
    assert client.get(reverse("admin:index")).status_code == 200


def test_database_kill_switch__refuses_writes_keeps_reads_and_flag_tables_writable(client, api, make_token, operator,
                                                                                    switch, portal):
    engaged = switch("kill_switch_database").state
    writer = api(make_token("releases:write"))
    assert writer.get("/api/v1/services").status_code == 200  # reads work
    refused = writer.post("/api/v1/services", {"slug": "search", "name": "Search", "reason": "new"}, format="json")
    assert refused.status_code == 503 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["title"] == "Read-only mode"
    assert not Service.objects.filter(slug="search").exists()
    # The switch itself (flag tables, history, audit trail, session) stays writable from the ops console.
    client.force_login(operator)
    url = reverse("admin:flags_ops_action", args=["portal", engaged.pk, "disengage"])
    response = client.post(url, {"reason": "upgrade done", "revision": engaged.revision}, follow=True)
    assert response.status_code == 200
    engaged.refresh_from_db()
    # production needs a second person to widen: the request was written despite the kill switch
    assert engaged.change_requests.filter(status="pending").exists()


def test_database_kill_switch__can_be_turned_off_where_no_second_person_is_needed(client, operator, portal,
                                                                                   system_user, settings):
    development = Environment.objects.get(slug="development")
    settings.FLAGS_PORTAL_ENVIRONMENT = "development"
    state = services.state_for(service=portal, environment=development, key="kill_switch_database")
    state = services.engage_kill_switch(state=state, actor=system_user, reason="test").state
    client.force_login(operator)
    url = reverse("admin:flags_ops_action", args=["portal", state.pk, "disengage"])
    assert client.post(url, {"reason": "done", "revision": state.revision}).status_code == 302
    state.refresh_from_db()
    assert not state.enabled and state.history.latest().history_change_reason == "done"


def test_rate_multiplier__scales_the_api_throttle(api, make_token, portal, system_user, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "4/min"})
    cache.clear()
    production = Environment.objects.get(slug="production")
    state = services.state_for(service=portal, environment=production, key="rate_limit_multiplier")
    assert services.set_number(state=state, number=0.5, actor=system_user, reason="shed load").applied
    client = api(make_token("flags:read"))
    codes = [client.get("/api/v1/whoami").status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # 4/min × 0.5
    cache.clear()
