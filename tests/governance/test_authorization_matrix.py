"""Every API endpoint × every kind of caller → the expected status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services

# (method, path, scope it needs or None for any valid token, service-bound?, body)
ENDPOINTS = [
    ("get", "/api/v1/whoami", None, False, None),
    ("get", "/api/v1/services", None, False, None),
    ("post", "/api/v1/services", "releases:write", True,
     {"slug": "newsvc", "name": "New", "reason": "onboarding"}),
    ("get", "/api/v1/audit/export", "audit:read", False, None),
]
OK = {"get": 200, "post": 201}


def _call(client, method, path, body):
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
    if response.streaming:
        response.body = b"".join(response.streaming_content)  # finish the export's server-side cursor
    return response


@pytest.fixture
def callers(make_token, service, other_service, system_user):
    def for_scope(scope):
        scopes = [scope] if scope else ["flags:read"]
        wrong = ["sli:write"] if scope != "sli:write" else ["flags:read"]
        expired = make_token(*scopes, expires_in=timedelta(seconds=1))
        revoked = make_token(*scopes)
        to_revoke = services.authenticate_secret(revoked)
        assert to_revoke is not None
        services.revoke_token(token=to_revoke, actor=system_user, reason="test")
        return {
            "anonymous": None,
            "without_scope": make_token(*wrong),
            "with_scope": make_token(*scopes),
            "other_service": make_token(*scopes, services_=[other_service]),
            "expired": expired,
            "revoked": revoked,
        }

    return for_scope


@pytest.mark.parametrize(("method", "path", "scope", "service_bound", "body"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, callers, method, path, scope, service_bound, body,
                                                   monkeypatch):
    secrets = callers(scope)
    import time

    time.sleep(1.1)  # let the short-lived token expire
    expected = {
        "anonymous": 401,
        "without_scope": 403 if scope else OK[method],
        "with_scope": OK[method],
        "other_service": 403 if service_bound else OK[method],
        "expired": 401,
        "revoked": 401,
    }
    seen = {}
    for caller, secret in secrets.items():
        response = _call(api(secret), method, path, body)
        seen[caller] = response.status_code
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json"
            assert response.json()["status"] == response.status_code  # errors are never streamed
        if caller == "with_scope" and method == "post":
            body = {**body, "slug": body["slug"] + "2"}  # keep the next caller's create from conflicting
    assert seen == expected


def test_anonymous__gets_a_bearer_challenge(api, db):
    response = api().get("/api/v1/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_api_path__is_problem_json(api, make_token):
    response = api(make_token("flags:read")).get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


def test_token_last_use__is_recorded(api, make_token):
    secret = make_token("flags:read")
    api(secret).get("/api/v1/whoami")
    token = services.authenticate_secret(secret)
    assert token is not None and token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)
