"""Every API endpoint × every kind of caller → the expected status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services
from tests.authorization import expected_statuses, statuses

# (method, path, scope it needs or None for any valid token, service-bound?, body)
ENDPOINTS = [
    ("get", "/api/v1/whoami", None, False, None),
    ("get", "/api/v1/services", None, False, None),
    ("post", "/api/v1/services", "releases:write", True,
     {"slug": "newsvc", "name": "New", "reason": "onboarding"}),
    ("get", "/api/v1/audit/export", "audit:read", False, None),  # restricted tokens: their services' events
    ("get", "/api/v1/audit/public-key", None, False, None),
]
OK = {"get": 200, "post": 201}


@pytest.mark.parametrize(("method", "path", "scope", "service_bound", "body"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, api_callers, service, method, path, scope, service_bound,
                                                   body):
    seen = statuses(api, api_callers(scope), method, path, body,
                    after_success=lambda b: {**b, "slug": b["slug"] + "2"} if b else b)  # no conflicting create
    assert seen == expected_statuses(scope=scope, ok=OK[method], service_bound=service_bound)


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
