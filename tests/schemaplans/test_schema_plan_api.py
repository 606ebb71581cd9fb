"""GET /api/v1/schema-plans/{id} answers what `govctl migrations check` needs; CI moves plans along by POST."""

from __future__ import annotations

import pytest
from govctl.cli import main

from schemaplans.models import SchemaPlan


def test_plan__shows_status_reason_and_verification(api, make_token, plan):
    body = api(make_token("flags:read")).get(f"/api/v1/schema-plans/{plan.slug}").json()
    assert body["id"] == "orders-status-code"
    assert (body["service"], body["status"], body["table"], body["columns"]) == (
        "shop", "planned", "orders", ["status_code"])
    assert body["reason"] == "planned: the plan must be backfilled and verified before its contract migration ships"
    assert body["verification"]["required_zero_runs"] == 3
    assert body["verification"]["verification_window_seconds"] == 86400
    assert body["database"] == "default"


def test_verified_plan__says_contract_may_ship(api, make_token, plan, prove, release_manager):
    prove(plan, release_manager)
    body = api(make_token("flags:read")).get(f"/api/v1/schema-plans/{plan.slug}").json()
    assert (body["status"], body["reason"]) == ("verified", "verified: contract migrations naming this plan may ship")
    assert body["verification"]["last_run"]["mismatches"] == 0


def test_unknown_plan__is_404_problem(api, make_token, db):
    response = api(make_token("flags:read")).get("/api/v1/schema-plans/nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("key", [None, "retry-1"])
def test_plan_id_with_a_nul_byte__is_400_problem_and_moves_nothing(api, make_token, plan, key):
    client = api(make_token("releases:write"))
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}  # the key's record stores the path: it failed first
    read = client.get("/api/v1/schema-plans/orders%00status")
    moved = client.post("/api/v1/schema-plans/%00/transition", {"status": "expanded", "reason": "r"}, format="json",
                        **headers)
    assert (read.status_code, moved.status_code) == (400, 400)
    assert moved["Content-Type"] == "application/problem+json"
    plan.refresh_from_db()
    assert plan.status == SchemaPlan.Status.PLANNED


def test_transition__moves_the_plan_and_records_the_release(api, make_token, plan):
    client = api(make_token("releases:write"))
    response = client.post(f"/api/v1/schema-plans/{plan.slug}/transition",
                           {"status": "expanded", "release_version": "1.4.0", "reason": "deployed 1.4.0"},
                           format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["expand_release_version"]) == ("expanded", "1.4.0")
    record = SchemaPlan.objects.get(pk=plan.pk).history.latest()
    assert (record.history_user.username, record.history_change_reason) == ("ci-bot", "api (ci): deployed 1.4.0")
    replay = client.post(f"/api/v1/schema-plans/{plan.slug}/transition",
                         {"status": "expanded", "release_version": "1.4.0", "reason": "deployed 1.4.0"},
                         format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (200, "true")


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "contracted", "reason": "x"}, "status"),
    ({"status": "verified", "reason": "x"}, "status"),
    ({"status": "expanded"}, "reason"),
])
def test_invalid_transition__is_400_with_the_field(api, make_token, plan, body, field):
    response = api(make_token("releases:write")).post(f"/api/v1/schema-plans/{plan.slug}/transition", body,
                                                      format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_govctl_migrations_check__passes_only_verified_plans(live_server, monkeypatch, make_token, service,
                                                             system_user, prove, capsys, tmp_path):
    from schemaplans import services

    plan = services.create_plan(service=service, slug="orders-status-code", table="orders",
                                verification_sql="SELECT 0", actor=system_user, reason="x")
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("flags:read"))
    migration = tmp_path / "0045_drop_status.sql"
    migration.write_text("-- emc: contract plan=orders-status-code\nALTER TABLE orders DROP COLUMN status;\n")

    assert main(["migrations", "check", str(migration)]) == 1
    assert "FAIL plan orders-status-code: status 'planned'" in capsys.readouterr().out
    prove(plan, system_user)
    assert main(["migrations", "check", "--plan", "orders-status-code", str(migration)]) == 0
    assert "ok   plan orders-status-code: status verified" in capsys.readouterr().out
