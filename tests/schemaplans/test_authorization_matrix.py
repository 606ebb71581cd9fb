"""Schema plan and backfill endpoints × every kind of caller → the expected status."""

from __future__ import annotations

import pytest

from schemaplans import services
from tests.authorization import expected_statuses, statuses

# (method, path template, scope or None for any valid token, body, state the backfill must be in)
ENDPOINTS = [
    ("get", "/api/v1/schema-plans/{plan}", None, None, None),
    ("post", "/api/v1/schema-plans/{plan}/transition", "releases:write", {"status": "expanded", "reason": "ci"}, None),
    ("get", "/api/v1/backfills/{backfill}", None, None, None),
    ("post", "/api/v1/backfills/{backfill}/pause", "releases:write", {"reason": "ci"}, "running"),
    ("post", "/api/v1/backfills/{backfill}/resume", "releases:write", {"reason": "ci"}, "paused"),
    ("post", "/api/v1/backfills/{backfill}/cancel", "releases:write", {"reason": "ci"}, None),
]


@pytest.mark.parametrize(("method", "template", "scope", "body", "state"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, api_callers, plan, backfill, system_user, method, template,
                                                   scope, body, state, start_backfill):
    if state in ("running", "paused"):
        start_backfill(backfill, reason="test", enqueue=True)
    if state == "paused":
        services.pause_backfill(backfill=backfill, actor=system_user, reason="test")
    path = template.format(plan=plan.slug, backfill=backfill.pk)
    seen = statuses(api, api_callers(scope), method, path, body)
    assert seen == expected_statuses(scope=scope, ok=200)


def test_service_less_backfill__is_refused_to_service_restricted_tokens(api, make_token, other_service, system_user):
    portal_own = services.create_backfill(name="portal data", table="governance_service", actor=system_user,
                                          callable_path="tests.schemaplans.backfill_callables.copy_old_to_new",
                                          reason="x")
    restricted = api(make_token("releases:write", services_=[other_service]))
    response = restricted.get(f"/api/v1/backfills/{portal_own.pk}")
    assert response.status_code == 403
    assert "portal's own data" in response.json()["detail"]
    assert api(make_token("releases:write")).get(f"/api/v1/backfills/{portal_own.pk}").status_code == 200
