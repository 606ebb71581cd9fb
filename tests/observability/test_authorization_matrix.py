"""/api/v1/sli × every kind of caller → the expected status."""

import time
from datetime import timedelta

from django.utils import timezone

from governance import services


def test_sli_ingest__answers_each_caller_as_expected(api, make_token, service, other_service, production,
                                                     system_user):
    minute = (timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)).isoformat()
    body = {"service": "shop", "environment": "production", "points": [{"minute": minute, "total": 1}]}
    expired = make_token("sli:write", expires_in=timedelta(seconds=1))
    revoked = make_token("sli:write")
    to_revoke = services.authenticate_secret(revoked)
    assert to_revoke is not None
    services.revoke_token(token=to_revoke, actor=system_user, reason="test")
    callers = {
        "anonymous": None,
        "without_scope": make_token("flags:read", "releases:write"),
        "with_scope": make_token("sli:write"),
        "service_bound": make_token("sli:write", services_=[service]),
        "other_service": make_token("sli:write", services_=[other_service]),
        "expired": expired,
        "revoked": revoked,
    }
    time.sleep(1.1)  # let the short-lived token expire
    seen = {}
    for caller, secret in callers.items():
        response = api(secret).post("/api/v1/sli", body, format="json")
        seen[caller] = response.status_code
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json"
    assert seen == {"anonymous": 401, "without_scope": 403, "with_scope": 200, "service_bound": 200,
                    "other_service": 403, "expired": 401, "revoked": 401}


def test_get__is_not_allowed(api, make_token, db):
    response = api(make_token("sli:write")).get("/api/v1/sli")
    assert response.status_code == 405
