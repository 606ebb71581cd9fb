"""Schema plan and backfill endpoints × every kind of caller → the expected status."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from governance import services as core
from schemaplans import services

# (method, path template, scope or None for any valid token, body, state the backfill must be in)
ENDPOINTS = [
    ("get", "/api/v1/schema-plans/{plan}", None, None, None),
    ("post", "/api/v1/schema-plans/{plan}/transition", "releases:write", {"status": "expanded", "reason": "ci"}, None),
    ("get", "/api/v1/backfills/{backfill}", None, None, None),
    ("post", "/api/v1/backfills/{backfill}/pause", "releases:write", {"reason": "ci"}, "running"),
    ("post", "/api/v1/backfills/{backfill}/resume", "releases:write", {"reason": "ci"}, "paused"),
    ("post", "/api/v1/backfills/{backfill}/cancel", "releases:write", {"reason": "ci"}, None),
]


@pytest.fixture
def callers(make_token, other_service, system_user):
    def for_scope(scope):
        scopes = [scope] if scope else ["flags:read"]
        expired = make_token(*scopes, expires_in=timedelta(seconds=1))
        revoked = make_token(*scopes)
        to_revoke = core.authenticate_secret(revoked)
        assert to_revoke is not None
        core.revoke_token(token=to_revoke, actor=system_user, reason="test")
        return {
            "anonymous": None,
            "without_scope": make_token("sli:write"),
            "with_scope": make_token(*scopes),
            "other_service": make_token(*scopes, services_=[other_service]),
            "expired": expired,
            "revoked": revoked,
        }

    return for_scope


@pytest.mark.parametrize(("method", "template", "scope", "body", "state"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, callers, plan, backfill, system_user, method, template,
                                                   scope, body, state):
    if state in ("running", "paused"):
        services.start_backfill(backfill=backfill, actor=system_user, reason="test")
    if state == "paused":
        services.pause_backfill(backfill=backfill, actor=system_user, reason="test")
    path = template.format(plan=plan.slug, backfill=backfill.pk)
    secrets = callers(scope)
    time.sleep(1.1)  # let the short-lived token expire
    ok = 200
    expected = {
        "anonymous": 401,
        "without_scope": 403 if scope else ok,
        "with_scope": ok,
        "other_service": 403,
        "expired": 401,
        "revoked": 401,
    }
    seen = {}
    for caller, secret in secrets.items():
        client = api(secret)
        response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
        seen[caller] = response.status_code
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json"
    assert seen == expected


def test_service_less_backfill__is_refused_to_service_restricted_tokens(api, make_token, other_service, system_user):
    portal_own = services.create_backfill(name="portal data", table="governance_service",
                                          sql="SELECT 1 WHERE %(lo)s < %(hi)s", actor=system_user, reason="x")
    restricted = api(make_token("releases:write", services_=[other_service]))
    response = restricted.get(f"/api/v1/backfills/{portal_own.pk}")
    assert response.status_code == 403
    assert "portal's own data" in response.json()["detail"]
    assert api(make_token("releases:write")).get(f"/api/v1/backfills/{portal_own.pk}").status_code == 200
