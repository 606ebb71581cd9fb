"""Every flag delivery endpoint × every kind of caller → the expected status."""

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
