"""The portal's own maintenance mode and kill switches leave the flag API up, so they can be switched off with it."""

import pytest

from flags import services
from governance.models import Service


@pytest.fixture
def portal(db):
    return Service.objects.get(slug="portal")


@pytest.fixture
def writer(make_token):
    return make_token("flags:write", "flags:read", "portal:operate")  # the portal's own flags need it


def test_portal_in_maintenance__list_and_changes_still_answer(api, writer, portal, production, system_user):
    services.enter_maintenance(service=portal, environment=production, actor=system_user, reason="upgrade")
    assert api(writer).get("/api/v1/whoami").status_code == 503  # the rest of the API is in maintenance
    assert api(writer).get("/api/v1/flags", {"service": "portal", "environment": "production"}).status_code == 200
    response = api(writer).post("/api/v1/flags/portal/production/maintenance_mode/changes",
                                {"operation": "exit_maintenance", "reason": "upgrade done"}, format="json")
    # leaving maintenance widens exposure in production: a second person approves the request
    assert response.status_code == 202


@pytest.mark.parametrize("switch", ["kill_switch_api", "kill_switch_database"])
def test_portal_kill_switch_on__a_change_through_the_api_still_applies(api, writer, portal, production, service,
                                                                       system_user, switch):
    state = services.state_for(service=portal, environment=production, key=switch)
    services.engage_kill_switch(state=state, actor=system_user, reason="INC-5")
    response = api(writer).post("/api/v1/flags/shop/production/rate_limit_multiplier/changes",
                                {"operation": "set_number", "payload": {"number": 0.5}, "reason": "INC-5 shed load"},
                                format="json", HTTP_IDEMPOTENCY_KEY="guards-1")
    assert response.status_code == 200, response.content
    assert response.json()["state"]["number"] == 0.5
