"""Drills API: who may call it, what it answers, idempotent starts, problem JSON on bad input."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from governance import services as core
from recovery import services
from recovery.models import Drill

pytestmark = pytest.mark.usefixtures("no_leftover_rec2_shadows")


@pytest.fixture
def shop_target(target, service, system_user):
    return services.update_backup_target(target=target, service=service, actor=system_user, reason="owned by shop")


@pytest.fixture
def queued_drill(shop_target, system_user):
    # Not run: on_commit callbacks do not fire inside the test's transaction.
    return services.request_drill(target=shop_target, kind="restore", actor=system_user, reason="fixture")


@pytest.fixture
def callers(make_token, other_service, system_user):
    scope = "drills:run"
    expired = make_token(scope, expires_in=timedelta(seconds=1))
    revoked = make_token(scope)
    to_revoke = core.authenticate_secret(revoked)
    assert to_revoke is not None
    core.revoke_token(token=to_revoke, actor=system_user, reason="test")
    time.sleep(1.1)  # let the short-lived token expire
    return {
        "anonymous": None,
        "without_scope": make_token("releases:write", "flags:read"),
        "with_scope": make_token(scope),
        "other_service": make_token(scope, services_=[other_service]),
        "expired": expired,
        "revoked": revoked,
    }


@pytest.mark.parametrize(("method", "path", "ok"), [
    ("post", "/api/v1/drills", 202),
    ("get", "/api/v1/drills/{id}", 200),
    ("get", "/api/v1/drills/{id}/report.md", 200),
])
def test_endpoint__answers_each_caller_as_expected(api, callers, queued_drill, method, path, ok):
    url = path.format(id=queued_drill.pk)
    body = {"target": "shop-db", "kind": "restore", "reason": "CI drill"}
    expected = {"anonymous": 401, "without_scope": 403, "with_scope": ok, "other_service": 403, "expired": 401,
                "revoked": 401}
    seen = {}
    for caller, secret in callers.items():
        client = api(secret)
        response = client.post(url, body, format="json") if method == "post" else client.get(url)
        seen[caller] = response.status_code
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json"
            assert response.json()["status"] == response.status_code
    assert seen == expected


def test_start__answers_202_with_the_drill_and_its_status_url(api, make_token, shop_target):
    response = api(make_token("drills:run")).post(
        "/api/v1/drills", {"target": "shop-db", "kind": "pitr", "reason": "release 2.1 rehearsal"}, format="json")

    assert response.status_code == 202
    body = response.json()
    drill = Drill.objects.get(pk=body["id"])
    assert (drill.kind, drill.status, drill.reason, drill.requested_by.username) == (
        "pitr", "queued", "api (ci): release 2.1 rehearsal", "ci-bot")
    assert body["status_url"] == f"http://testserver/api/v1/drills/{drill.pk}"
    assert response["Location"] == body["status_url"]
    assert body["report_url"] == f"http://testserver/api/v1/drills/{drill.pk}/report.md"


def test_start_retried_with_the_same_key__queues_one_drill(api, make_token, shop_target):
    client = api(make_token("drills:run"))
    body = {"target": "shop-db", "reason": "CI drill"}

    first = client.post("/api/v1/drills", body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    again = client.post("/api/v1/drills", body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Drill.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"target": "nope", "reason": "x"}, "target"),
    ({"target": "shop-db", "kind": "chaos", "reason": "x"}, "kind"),
    ({"target": "shop-db", "reason": ""}, "reason"),
    ({"kind": "restore", "reason": "x"}, "target"),
])
def test_start_with_bad_input__is_400_problem_json_naming_the_field(api, make_token, shop_target, body, field):
    response = api(make_token("drills:run")).post("/api/v1/drills", body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert not Drill.objects.exists()


def test_service_restricted_token__cannot_drill_the_portal_database(api, make_token, target, service):
    response = api(make_token("drills:run", services_=[service])).post(
        "/api/v1/drills", {"target": target.name, "reason": "x"}, format="json")

    assert response.status_code == 403
    assert "portal's own database" in response.json()["detail"]


def test_unknown_drill__is_404_problem_json(api, make_token, db):
    response = api(make_token("drills:run")).get("/api/v1/drills/999999")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_finished_drill__shows_verdicts_phases_and_report(api, make_token, shop_target, system_user,
                                                          django_capture_on_commit_callbacks):
    services.take_backup(target=shop_target, actor=system_user, reason="nightly")
    client = api(make_token("drills:run"))
    with django_capture_on_commit_callbacks(execute=True):
        drill_id = client.post("/api/v1/drills", {"target": "shop-db", "reason": "CI"}, format="json").json()["id"]

    shown = client.get(f"/api/v1/drills/{drill_id}").json()
    report = client.get(f"/api/v1/drills/{drill_id}/report.md")

    assert (shown["status"], shown["passed"], shown["finished"]) == ("passed", True, True)
    assert [v["layer"] for v in shown["verdicts"]] == [
        "integrity", "restore", "row_counts", "checksums", "smoke_queries", "recovery_time"]
    assert shown["backup"]["path"].endswith(".dump") and shown["phases"]
    assert shown["total_seconds"] < shown["objective_seconds"] == 900
    assert report.status_code == 200 and report["Content-Type"] == "text/markdown; charset=utf-8"
    assert report.content.decode().startswith("# Restore drill PASSED")
