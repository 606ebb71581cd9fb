"""Request bodies the JSON parser cannot take are a 4xx problem, never a 500, and write nothing."""

import json

from governance.models import Service

URL = "/api/v1/services"
BODY = {"slug": "search", "name": "Search", "reason": "onboarding"}


def _post(api, make_token, raw, **headers):
    return api(make_token("releases:write")).generic("POST", URL, raw, content_type="application/json", **headers)


def test_nesting_too_deep_for_the_decoder__is_a_400_parse_error(api, make_token):
    response = _post(api, make_token, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "JSON parse error - the document is nested more than 32 levels deep."


def test_lone_surrogate__is_a_400_parse_error_and_creates_nothing(api, make_token):
    raw = json.dumps({**BODY, "name": "Se\ud800rch"})  # ensure_ascii: sent as the escape \ud800
    response = _post(api, make_token, raw, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 400
    assert response.json()["title"] == "Bad request"
    assert "lone surrogate" in response.json()["detail"]
    assert not Service.objects.filter(slug="search").exists()


def test_lone_surrogate_in_a_choice__is_a_400_problem(api, make_token):
    # A choice error quotes the input: with a lone surrogate in it, the JSON answer itself could not be encoded.
    raw = json.dumps({"release": 1, "environment": "production", "status": "\udfff"})
    response = api(make_token("releases:write")).generic("POST", "/api/v1/deployments", raw,
                                                         content_type="application/json")
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["detail"]


def test_surrogate_pairs__are_ordinary_text(api, make_token):
    raw = json.dumps({**BODY, "name": "Search 😀"})  # ensure_ascii writes the pair \ud83d\ude00
    assert "\\ud83d\\ude00" in raw
    response = _post(api, make_token, raw)
    assert response.status_code == 201
    assert Service.objects.get(slug="search").name == "Search 😀"


def test_body_over_the_upload_limit__is_a_413_problem(api, make_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _post(api, make_token, json.dumps({**BODY, "name": "x" * 2000}))
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The request body is larger than 1,000 bytes."
    assert not Service.objects.filter(slug="search").exists()
