"""The portal's own operational flags (maintenance, kill switches, rate multiplier) are not an ordinary flags:write
grant: every operation × a plain CI token (403, nothing changes) and a token with portal:operate (applied or
proposed as usual)."""

from __future__ import annotations

import pytest

from flags import services
from flags.models import ChangeRequest, FlagState
from governance.models import AuditEvent

OPERATIONS = [
    (services.MAINTENANCE, {"operation": "enter_maintenance", "expires_in_minutes": 30}),
    (services.KILL_API, {"operation": "engage_kill_switch", "expires_in_minutes": 30}),
    (services.KILL_DATABASE, {"operation": "engage_kill_switch"}),
    (services.RATE_MULTIPLIER, {"operation": "set_number", "payload": {"number": 0.1}}),
]


def _state(key):
    return FlagState.objects.get(flag__service__slug="portal", flag__key=key, environment__slug="production")


@pytest.mark.parametrize("key, body", OPERATIONS, ids=[key for key, _ in OPERATIONS])
@pytest.mark.parametrize("scopes, allowed", [(["flags:write"], False), (["flags:write", "portal:operate"], True)],
                         ids=["flags-write", "portal-operate"])
def test_portal_flag_change__needs_the_portal_operate_scope(api, make_token, key, body, scopes, allowed):
    client = api(make_token(*scopes))
    before = _state(key).revision
    events = AuditEvent.objects.count()

    response = client.post(f"/api/v1/flags/portal/production/{key}/changes",
                                             {**body, "reason": "INC-9"}, format="json")

    if allowed:
        assert response.status_code in (200, 202), response.json()
        return
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("portal-operate-scope") and "portal:operate" in response.json()["detail"]
    assert _state(key).revision == before and not ChangeRequest.objects.exists()
    assert AuditEvent.objects.count() == events


def test_other_services_flags__need_only_flags_write(api, make_token, make_flag):
    make_flag("new-checkout")

    response = api(make_token("flags:write")).post("/api/v1/flags/shop/preview/new-checkout/changes",
                                                   {"operation": "enable", "reason": "try"}, format="json")

    assert response.status_code == 200, response.json()
