"""The snapshot URL serves routine polls without DRF's dispatch, and answers exactly as FlagSnapshotApi does.

Every case is sent twice: to the URL (fast path first) and to FlagSnapshotApi itself. Status, body and
headers must agree; the cases the fast path does not serve must reach FlagSnapshotApi, which explains them.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.settings import api_settings

from flags.api import views
from governance.models import Environment

URL = "/api/v1/flags/snapshot"
QUERY = {"service": "shop", "environment": "production"}
IGNORED = {"Date", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy", "Cross-Origin-Opener-Policy",
           "X-Content-Type-Options", "Vary"}  # middleware headers: the direct call to the class has none


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


@pytest.fixture
def drf_calls(monkeypatch):
    """How many requests reached FlagSnapshotApi's dispatch."""
    calls = []
    original = views.FlagSnapshotApi.initial

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(views.FlagSnapshotApi, "initial", counting)
    return calls


def _both(headers: dict[str, str], method: str = "get", query: dict | None = None):
    """(answer of the URL, answer of FlagSnapshotApi) to the same request."""
    factory = RequestFactory()
    make = getattr(factory, method)
    via_url = views.snapshot_view()(make(URL, query if query is not None else QUERY, **headers))
    via_class = views.FlagSnapshotApi.as_view()(make(URL, query if query is not None else QUERY, **headers))
    for response in (via_url, via_class):
        if hasattr(response, "render"):
            response.render()
    return via_url, via_class


def _same(a, b) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    headers_a = {k: v for k, v in a.headers.items() if k not in IGNORED}
    headers_b = {k: v for k, v in b.headers.items() if k not in IGNORED}
    assert headers_a == headers_b


def test_routine_polls__skip_drf_and_answer_like_it(flag, reader, drf_calls):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
    first, _ = _both(auth)  # the first poll of a query string goes through DRF (it parses it)
    assert first["X-Flags-Source"] == "database"
    drf_calls.clear()
    url, cls = _both(auth)
    assert url.status_code == 200 and url["X-Flags-Source"] == "memory"
    _same(url, cls)
    assert drf_calls == [URL]  # only the direct call to the class: the URL answered on its own
    drf_calls.clear()
    url, cls = _both({"HTTP_IF_NONE_MATCH": url["ETag"], **auth})
    assert url.status_code == 304 and url.content == b""
    _same(url, cls)
    assert drf_calls == [URL]


@pytest.mark.parametrize("form", ["bearer", "bare", "x-api-key"])
def test_every_token_form__is_served_fast(flag, reader, drf_calls, form):
    headers = {"bearer": {"HTTP_AUTHORIZATION": f"Bearer {reader}"}, "bare": {"HTTP_AUTHORIZATION": reader},
               "x-api-key": {"HTTP_X_API_KEY": reader}}[form]
    _both(headers)
    drf_calls.clear()
    url, cls = _both(headers)
    assert url.status_code == 200
    _same(url, cls)
    assert drf_calls == [URL]


@pytest.mark.parametrize("case, status", [
    ("no token", 401), ("unknown token", 401), ("malformed header", 401), ("no flags:read scope", 403),
    ("restricted to another environment", 403), ("unknown service", 404), ("missing environment", 400),
])
def test_refusals__are_explained_by_the_api_view(flag, reader, make_token, drf_calls, case, status):
    preview = Environment.objects.get(slug="preview")
    secret = {"no flags:read scope": make_token("audit:read"),
              "restricted to another environment": make_token("flags:read", environments=[preview])}.get(case, reader)
    headers = {"no token": {}, "unknown token": {"HTTP_AUTHORIZATION": "Bearer gov_nope_nope"},
               "malformed header": {"HTTP_AUTHORIZATION": "Token a b c"}}.get(
        case, {"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    query = {"unknown service": {"service": "nope", "environment": "production"},
             "missing environment": {"service": "shop"}}.get(case, QUERY)
    _both({"HTTP_AUTHORIZATION": f"Bearer {reader}"})  # the query string of QUERY is known to the fast path
    drf_calls.clear()
    url, cls = _both(headers, query=query)
    assert url.status_code == status
    assert url["Content-Type"] == "application/problem+json"
    _same(url, cls)
    assert len(drf_calls) == 2  # the URL handed the request over


def test_other_methods__get_the_api_views_405(flag, reader):
    url, cls = _both({"HTTP_AUTHORIZATION": f"Bearer {reader}"}, "post")
    assert url.status_code == 405 and url["Allow"] == "GET, HEAD, OPTIONS"
    _same(url, cls)


def test_throttle__is_shared_and_spent_once_per_request(flag, reader, monkeypatch, api):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "flags", "3/min")
    client = api(reader)
    codes = [client.get(URL, QUERY).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # fast path and API view draw on one bucket, once each
    refused = client.get(URL, QUERY)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["status"] == 429


def test_the_openapi_schema__still_describes_the_snapshot(api, make_token):
    schema = api(make_token("flags:read")).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/flags/snapshot"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"service", "environment", "If-None-Match"}
    assert set(operation["responses"]) >= {"200", "304", "503"}
