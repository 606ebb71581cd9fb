"""Every flag endpoint (delivery, list, changes) × every kind of caller → the expected status."""

import time
from datetime import timedelta

import pytest

from governance import services as core

SHOP = {"service": "shop", "environment": "production"}
HEADERS = {"HTTP_X_GOVERNANCE_SERVICE": "shop", "HTTP_X_GOVERNANCE_ENVIRONMENT": "production"}
# (method, path, body or query, extra headers, status for an allowed caller)
ENDPOINTS = [
    ("get", "/api/v1/flags/snapshot", SHOP, {}, 200),
    ("post", "/api/v1/flags/evaluate", SHOP, {}, 200),
    ("post", "/api/v1/flags/heartbeat", {"instance_id": "i-1", **SHOP}, {}, 204),
    ("post", "/ofrep/v1/evaluate/flags/maintenance_mode", {"context": {}}, HEADERS, 200),
    ("post", "/ofrep/v1/evaluate/flags", {"context": {}}, HEADERS, 200),
    ("get", "/api/client/features", None, HEADERS, 200),
    ("post", "/api/client/register", {"appName": "shop"}, HEADERS, 202),
    ("post", "/api/client/metrics", {"appName": "shop"}, HEADERS, 202),
    ("get", "/api/v1/flags", SHOP, {}, 200),
]
# changing flags needs flags:write; a token with only flags:read is refused like one without any flag scope
WRITES = [
    ("/api/v1/flags/shop/production/kill_switch_api/changes", {"operation": "engage_kill_switch"}, 200),
    ("/api/v1/flags/shop/production/maintenance_mode/changes", {"operation": "enter_maintenance"}, 200),
    ("/api/v1/flags/shop/production/kill_switch_api/changes", {"operation": "disable"}, 200),
]


@pytest.fixture
def callers(make_token, service, other_service, system_user, production, preview):
    expired = make_token("flags:read", expires_in=timedelta(seconds=1))
    revoked = make_token("flags:read")
    to_revoke = core.authenticate_secret(revoked)
    assert to_revoke is not None
    core.revoke_token(token=to_revoke, actor=system_user, reason="test")
    time.sleep(1.1)
    return {
        "anonymous": None,
        "without_scope": make_token("sli:write"),
        "with_scope": make_token("flags:read"),
        "other_service": make_token("flags:read", services_=[other_service]),
        "other_environment": make_token("flags:read", environments=[preview]),
        "expired": expired,
        "revoked": revoked,
    }


@pytest.mark.parametrize(("method", "path", "data", "headers", "ok"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, callers, method, path, data, headers, ok):
    expected = {"anonymous": 401, "without_scope": 403, "with_scope": ok, "other_service": 403,
                "other_environment": 403, "expired": 401, "revoked": 401}
    if path.startswith("/api/client/") and path != "/api/client/features":
        expected.update(other_service=ok, other_environment=ok)  # accepted and dropped: no flag data
    seen = {}
    for caller, secret in callers.items():
        client = api(secret)
        if method == "get":
            response = client.get(path, data, **headers)
        else:
            response = client.post(path, data, format="json", **headers)
        seen[caller] = response.status_code
    assert seen == expected


def test_unleash_style_bare_token__is_accepted(api, make_token, service):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=make_token("flags:read"))
    assert client.get("/api/client/features", **HEADERS).status_code == 200


def test_ofrep_api_key_header__is_accepted(api, make_token, service):
    response = api().post("/ofrep/v1/evaluate/flags", {"context": {}}, format="json",
                          HTTP_X_API_KEY=make_token("flags:read"), **HEADERS)
    assert response.status_code == 200


@pytest.fixture
def writers(make_token, service, other_service, system_user, preview, production):
    expired = make_token("flags:write", expires_in=timedelta(seconds=1))
    revoked = make_token("flags:write")
    to_revoke = core.authenticate_secret(revoked)
    assert to_revoke is not None
    core.revoke_token(token=to_revoke, actor=system_user, reason="test")
    time.sleep(1.1)
    return {
        "anonymous": None,
        "read_only": make_token("flags:read"),
        "without_scope": make_token("releases:write"),
        "with_scope": make_token("flags:write"),
        "restricted_here": make_token("flags:write", services_=[service], environments=[production]),
        "other_service": make_token("flags:write", services_=[other_service]),
        "other_environment": make_token("flags:write", environments=[preview]),
        "expired": expired,
        "revoked": revoked,
    }


@pytest.mark.parametrize(("path", "body", "ok"), WRITES)
def test_change_endpoint__answers_each_caller_as_expected(api, writers, path, body, ok):
    expected = {"anonymous": 401, "read_only": 403, "without_scope": 403, "with_scope": ok, "restricted_here": ok,
                "other_service": 403, "other_environment": 403, "expired": 401, "revoked": 401}
    seen = {caller: api(secret).post(path, {**body, "reason": f"matrix: {caller}"}, format="json").status_code
            for caller, secret in writers.items()}
    assert seen == expected


def test_refused_callers__change_nothing(api, writers, service):
    from flags.models import FlagState

    before = list(FlagState.objects.filter(flag__service=service).values_list("pk", "revision"))
    for caller in ("anonymous", "read_only", "without_scope", "other_service", "other_environment", "expired",
                   "revoked"):
        api(writers[caller]).post("/api/v1/flags/shop/production/kill_switch_api/changes",
                                  {"operation": "engage_kill_switch", "reason": "x"}, format="json")
    assert list(FlagState.objects.filter(flag__service=service).values_list("pk", "revision")) == before


def test_change_request_status__needs_flags_read_and_the_target(api, make_token, service, other_service, operator,
                                                                 preview):
    from flags import services as flag_services
    from flags.models import FlagState

    state = FlagState.objects.get(flag__service=service, flag__key="maintenance_mode",
                                  environment__slug="production")
    flag_services.engage_kill_switch(state=state, actor=operator, reason="x")
    pending = flag_services.disengage_kill_switch(state=state, actor=operator, reason="y").change_request
    assert pending is not None
    path = f"/api/v1/flags/change-requests/{pending.pk}"
    seen = {caller: api(secret).get(path).status_code for caller, secret in {
        "anonymous": None, "without_scope": make_token("flags:write"), "with_scope": make_token("flags:read"),
        "other_service": make_token("flags:read", services_=[other_service]),
        "other_environment": make_token("flags:read", environments=[preview])}.items()}
    assert seen == {"anonymous": 401, "without_scope": 403, "with_scope": 200, "other_service": 403,
                    "other_environment": 403}
