"""The SDK applies the snapshot's chaos faults: HTTP faults in the Django middleware, database faults in the
execute wrapper; expiry is evaluated locally; the heartbeat reports the hooks loaded.

Real pieces: Django's test client through govctl's middleware, real PostgreSQL statements, a FlagClient reading
a signed snapshot from a real HTTP server on 127.0.0.1 (tests/flags/portal_stub.py) or from its last-known-good
file when that server is unreachable."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.http import JsonResponse
from django.test import Client
from django.urls import path
from govctl.django_chaos import install_db_faults, uninstall_db_faults
from govctl.django_middleware import SdkFlagSource
from govctl.flags.snapshot import canonical_json, sign_snapshot
from govctl.sdk import FlagClient

from tests.flags.portal_stub import SECRET, TOKEN, PortalStub

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _sql(statement):
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
            cursor.fetchall() if cursor.description else None
    except DatabaseError as exc:
        return {"error": type(exc).__name__, "message": str(exc), "seconds": time.monotonic() - started}
    return {"error": None, "seconds": time.monotonic() - started}


def ok_view(request):
    return JsonResponse({"ok": True})


def read_view(request):
    return JsonResponse(_sql("SELECT count(*) FROM auth_user"))


def write_view(request):
    return JsonResponse(_sql("UPDATE auth_user SET last_name = last_name WHERE id = -1"))


def sleep_view(request):
    return JsonResponse(_sql(f"SELECT pg_sleep({float(request.GET.get('s', '0.3'))})"))


urlpatterns = [path("svc/ok", ok_view), path("svc/read", read_view), path("svc/write", write_view),
               path("svc/sleep", sleep_view)]


def _iso(seconds_from_now):
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat().replace("+00:00", "Z")


def fault(kind, params=None, *, share=1.0, paths=(), header=None, ttl=300, fid="f1"):
    return {"id": fid, "kind": kind, "params": params or {}, "expires_at": _iso(ttl), "run": None,
            "scope": {"share": share, "paths": list(paths), "header": header}}


def _signed(faults, revision):
    body = {"version": 2, "features": [], "segments": [], "revision": revision, "faults": faults,
            "generated_at": "2026-01-01T00:00:00Z"}
    body["signature"] = sign_snapshot(body, SECRET)
    return body


@pytest.fixture(scope="module")
def stub():
    server = PortalStub()
    yield server
    server.close()


@pytest.fixture
def sdk(stub, tmp_path):
    client = FlagClient(url=stub.url, token=TOKEN, service="svc", environment="preview", signing_secret=SECRET,
                        background=False, stream=False, lkg_path=tmp_path / "lkg.json")
    revision = iter(range(1, 1000))

    def publish(*faults):
        body = _signed(list(faults), next(revision))
        with stub.lock:
            stub.body = json.dumps(body).encode()
            stub.etag = '"' + hashlib.sha256(canonical_json(body)).hexdigest()[:16] + '"'
        client.refresh()

    client.publish = publish  # type: ignore[attr-defined]  # the tests' way to change the snapshot
    publish()
    yield client
    client.stop()


@pytest.fixture
def web(sdk, settings):
    settings.MIDDLEWARE = ["govctl.django_middleware.GovernanceFlagsMiddleware"]
    settings.GOVERNANCE_FLAGS = {"FLAG_SOURCE": SdkFlagSource(sdk), "RETRY_AFTER": 0}
    return Client()


def test_no_fault__requests_and_statements_untouched(web):
    assert web.get("/svc/ok").status_code == 200
    assert web.get("/svc/read").json()["error"] is None


def test_heartbeat__reports_the_chaos_hooks_loaded(web, sdk, stub):
    web.get("/svc/ok")  # the middleware is built on the first request
    sdk._last_heartbeat = float("-inf")
    sdk.refresh()
    assert stub.heartbeats[-1]["capabilities"] == ["chaos-db", "chaos-http"]


def test_http_errors__only_in_scope_paths(web, sdk):
    sdk.publish(fault("http_errors", {"status": 502}, paths=["/svc/read"]))
    assert web.get("/svc/ok").status_code == 200
    response = web.get("/svc/read")
    assert response.status_code == 502
    assert response["Content-Type"] == "application/problem+json"


def test_http_errors__header_scope(web, sdk):
    sdk.publish(fault("http_errors", {}, header={"name": "X-Chaos", "value": "on"}))
    assert web.get("/svc/ok").status_code == 200
    assert web.get("/svc/ok", headers={"X-Chaos": "on"}).status_code == 503


def test_http_errors__share_of_requests(web, sdk):
    sdk.publish(fault("http_errors", {"status": 503}, share=0.3))
    failed = sum(web.get("/svc/ok").status_code == 503 for _ in range(200))
    assert 25 <= failed <= 95  # 60 expected; binomial(200, 0.3) stays within this band but 1 in ~10^7


def test_http_latency__adds_the_delay(web, sdk):
    started = time.monotonic()
    web.get("/svc/ok")
    baseline = time.monotonic() - started
    sdk.publish(fault("http_latency", {"ms": 250, "jitter_ms": 0}))
    started = time.monotonic()
    assert web.get("/svc/ok").status_code == 200
    assert time.monotonic() - started >= baseline + 0.24


def test_throttle__429_with_retry_after(web, sdk):
    sdk.publish(fault("throttle", {"rate_factor": 0.0}))
    response = web.get("/svc/ok")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    sdk.publish(fault("throttle", {"rate_factor": 0.5}))
    allowed = sum(web.get("/svc/ok").status_code == 200 for _ in range(200))
    assert 60 <= allowed <= 140


def test_db_down_refuse__operational_error_as_a_refused_connection(web, sdk):
    sdk.publish(fault("db_down", {"mode": "refuse"}))
    body = web.get("/svc/read").json()
    assert body["error"] == "OperationalError"
    assert "connection refused" in body["message"]
    sdk.publish()
    assert web.get("/svc/read").json()["error"] is None


def test_db_down_error__database_error_on_every_statement(web, sdk):
    sdk.publish(fault("db_down", {"mode": "error"}))
    read, write = web.get("/svc/read").json(), web.get("/svc/write").json()
    assert read["error"] == write["error"] == "DatabaseError"


def test_db_latency__each_statement_delayed(web, sdk):
    sdk.publish(fault("db_latency", {"ms": 200, "jitter_ms": 0}))
    body = web.get("/svc/read").json()
    assert body["error"] is None and body["seconds"] >= 0.19


def test_db_errors__writes_only_and_first_n(web, sdk):
    sdk.publish(fault("db_errors", {"share": 1.0, "writes_only": True, "first_n": 2}, fid="first-two"))
    assert web.get("/svc/read").json()["error"] is None
    assert [web.get("/svc/write").json()["error"] for _ in range(3)] == ["DatabaseError", "DatabaseError", None]


def test_slow_queries__statement_timeout_then_reset(web, sdk):
    sdk.publish(fault("slow_queries", {"statement_timeout_ms": 100}))
    body = web.get("/svc/sleep?s=0.5").json()
    assert body["error"] == "OperationalError" and "statement timeout" in body["message"]
    assert body["seconds"] < 0.45
    sdk.publish()
    assert web.get("/svc/sleep?s=0.3").json()["error"] is None


def test_expiry__evaluated_locally_even_from_the_last_known_good_file(tmp_path, settings):
    lkg = tmp_path / "lkg.json"
    lkg.write_text(json.dumps(_signed([fault("http_errors", {}, ttl=1.5)], 7)))
    offline = FlagClient(url="http://127.0.0.1:9", token=TOKEN, service="svc", environment="preview",
                         signing_secret=SECRET, background=False, stream=False, heartbeat=False, lkg_path=lkg,
                         timeout=0.5)
    settings.MIDDLEWARE = ["govctl.django_middleware.GovernanceFlagsMiddleware"]
    settings.GOVERNANCE_FLAGS = {"FLAG_SOURCE": SdkFlagSource(offline)}
    web = Client()
    assert web.get("/svc/ok").status_code == 503
    assert offline.source == "lkg"
    time.sleep(1.6)
    assert web.get("/svc/ok").status_code == 200
    assert json.loads(lkg.read_text())["faults"]  # the file still lists it: the SDK dropped it on its own


def test_malformed_fault__never_applied(web, sdk):
    broken = fault("http_errors", {})
    broken["expires_at"] = "2099-01-01T00:00:00"  # no time zone: its end cannot be told
    sdk.publish(broken, fault("unknown_kind", {}), {"kind": "http_errors"})
    assert web.get("/svc/ok").status_code == 200


def test_install_db_faults__applies_outside_requests(sdk):
    install_db_faults(sdk.active_faults, report=sdk.capabilities.add)
    try:
        sdk.publish(fault("db_down", {"mode": "refuse"}))
        with pytest.raises(OperationalError, match="connection refused"), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        sdk.publish()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert "chaos-db" in sdk.capabilities
    finally:
        uninstall_db_faults()


def test_fault_source_that_reads_the_database__no_recursion(sdk):
    """The portal's own source builds its snapshot from PostgreSQL: its queries pass the wrapper untouched."""
    calls = []

    def faults_from_the_database():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM auth_user")
            calls.append(cursor.fetchone())
        return sdk.active_faults()

    sdk.publish(fault("db_latency", {"ms": 1}))
    install_db_faults(faults_from_the_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    finally:
        uninstall_db_faults()
    assert len(calls) == 1


def test_chaos_exempt_prefixes__untouched_by_http_and_database_faults(sdk, settings):
    settings.MIDDLEWARE = ["govctl.django_middleware.GovernanceFlagsMiddleware"]
    settings.GOVERNANCE_FLAGS = {"FLAG_SOURCE": SdkFlagSource(sdk), "CHAOS_EXEMPT_PREFIXES": ["/svc/read"]}
    web = Client()
    sdk.publish(fault("http_errors", {}), fault("db_down", {"mode": "refuse"}, fid="f2"))
    install_db_faults(sdk.active_faults)
    try:
        assert web.get("/svc/ok").status_code == 503
        response = web.get("/svc/read")  # the way out of a drill: answers, and reaches the database
        assert response.status_code == 200 and response.json()["error"] is None
    finally:
        uninstall_db_faults()
