"""Every release endpoint × every kind of caller → the expected status."""

import pytest

from tests.authorization import expected_statuses, statuses

# (method, path template, scope it needs or None for any valid token, body)
ENDPOINTS = [
    ("post", "/api/v1/services/shop/release-plan", "releases:write", {"commits": []}),
    ("post", "/api/v1/releases", "releases:write", {"service": "shop", "version": "2.0.0", "build_sha": "a" * 40}),
    ("get", "/api/v1/releases/{release}", None, None),
    ("get", "/api/v1/services/shop/releases/1.0.0", None, None),
    ("post", "/api/v1/releases/{release}/checks", "checks:write", {"name": "tests", "status": "success"}),
    ("post", "/api/v1/deployments", "releases:write", {"release": "{release}", "environment": "preview"}),
    ("get", "/api/v1/releases/{release}/gate?environment=production", None, None),
    ("get", "/api/v1/releases/{release}/summary.md", None, None),
]
OK = {"get": 200, "post": 201, "/api/v1/services/shop/release-plan": 200}


def _fill(value, release):
    if isinstance(value, str):
        return value.replace("{release}", str(release.pk))
    if isinstance(value, dict):
        return {k: (release.pk if v == "{release}" else v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS)
def test_endpoint__answers_each_caller_as_expected(api, api_callers, release, method, path, scope, body):
    path, body = _fill(path, release), _fill(body, release)
    seen = statuses(api, api_callers(scope), method, path, body)
    assert seen == expected_statuses(scope=scope, ok=OK.get(path, OK[method]))


def test_environment_restricted_token__cannot_record_production(api, make_token, release, preview):
    client = api(make_token("releases:write", environments=[preview]))
    assert client.post("/api/v1/deployments", {"release": release.pk, "environment": "preview"},
                       format="json").status_code == 201
    refused = client.post("/api/v1/deployments", {"release": release.pk, "environment": "production"}, format="json")
    assert refused.status_code == 403
    assert "restricted to other environments than 'production'" in refused.json()["detail"]


def test_summary__is_markdown_even_when_asked_for_it(api, make_token, release):
    response = api(make_token("releases:write")).get(f"/api/v1/releases/{release.pk}/summary.md",
                                                     HTTP_ACCEPT="text/markdown")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode().startswith("# shop 1.0.0")
    missing = api(make_token("releases:write")).get("/api/v1/releases/999999/summary.md", HTTP_ACCEPT="text/markdown")
    assert missing.status_code == 404 and missing.json()["status"] == 404
