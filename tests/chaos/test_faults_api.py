"""Faults through the API: bounded, delivered in the flag snapshot, removed at once, halted all together."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chaos import services
from chaos.models import Fault
from flags import breakglass, delivery

pytestmark = pytest.mark.django_db


def _body(**overrides):
    return {"service": "shop", "environment": "preview", "kind": "http_errors", "params": {"status": 503},
            "scope": {"share": 0.5, "paths": ["/api/"]}, "ttl_seconds": 120, "reason": "drill INC-1", **overrides}


@pytest.fixture
def chaos_token(make_token, service):
    return make_token("chaos:run", "chaos:read", "flags:read")


def _snapshot(api, token):
    response = api(token).get("/api/v1/flags/snapshot", {"service": "shop", "environment": "preview"})
    assert response.status_code == 200
    return response.json()


def test_fault_created__in_the_signed_snapshot_with_a_new_revision(api, chaos_token):
    before = _snapshot(api, chaos_token)
    assert before["faults"] == []
    response = api(chaos_token).post("/api/v1/chaos/faults/", _body(), format="json")
    assert response.status_code == 201, response.content
    fault_id = response.json()["id"]
    after = _snapshot(api, chaos_token)
    assert after["revision"] > before["revision"]
    [fault] = after["faults"]
    assert fault["id"] == str(fault_id) and fault["kind"] == "http_errors" and fault["params"] == {"status": 503}
    assert fault["scope"] == {"share": 0.5, "paths": ["/api/"], "header": None}
    assert fault["expires_at"].endswith("Z") and fault["run"] is None


@pytest.mark.parametrize(("overrides", "field"), [
    ({"ttl_seconds": 100_000}, "ttl_seconds"),
    ({"scope": {"share": 1.0}}, "scope"),
    ({"kind": "db_latency", "params": {"ms": -5}}, "params"),
    ({"kind": "db_errors", "params": {"bogus": 1}}, "params"),
    ({"environment": "production"}, "environment"),
])
def test_fault_beyond_the_limits__refused_with_400(api, chaos_token, settings, overrides, field):
    settings.CHAOS_MAX_SHARE = 0.5
    response = api(chaos_token).post("/api/v1/chaos/faults/", _body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json().get("errors", {}), response.json()
    assert not Fault.objects.exists()


def test_read_token__cannot_inject(api, make_token, service):
    response = api(make_token("chaos:read")).post("/api/v1/chaos/faults/", _body(), format="json")
    assert response.status_code == 403
    assert not Fault.objects.exists()


def test_fault_removed__gone_from_the_snapshot_and_audited(api, chaos_token):
    fault_id = api(chaos_token).post("/api/v1/chaos/faults/", _body(), format="json").json()["id"]
    revision = _snapshot(api, chaos_token)["revision"]
    response = api(chaos_token).delete(f"/api/v1/chaos/faults/{fault_id}/?reason=done")
    assert response.status_code == 200, response.content
    after = _snapshot(api, chaos_token)
    assert after["faults"] == [] and after["revision"] > revision
    record = Fault.history.filter(id=fault_id).order_by("-history_date").first()
    assert record.removed_at is not None and "done" in record.history_change_reason
    assert api(chaos_token).get("/api/v1/chaos/faults/").json() == []


def test_expired_fault__never_served(api, chaos_token, service, preview, maintainer):
    services.create_fault(service=service, environment=preview, kind="throttle", params={"rate_factor": 0.1},
                          ttl_seconds=5, actor=maintainer, reason="old", now=timezone.now() - timedelta(seconds=30))
    assert _snapshot(api, chaos_token)["faults"] == []
    assert api(chaos_token).get("/api/v1/chaos/faults/", {"service": "shop"}).json() == []


def test_fault_expiring_after_the_build__dropped_from_the_held_snapshot(service, preview, maintainer):
    fault = services.create_fault(service=service, environment=preview, kind="http_latency", ttl_seconds=60,
                                  actor=maintainer, reason="short")
    snapshot = delivery.get_snapshot("shop", "preview")
    assert snapshot is not None
    assert [f["id"] for f in snapshot.body["faults"]] == [str(fault.pk)]
    later = fault.expires_at.timestamp() + 1
    held = delivery._memory[("shop", "preview")]
    finished = delivery._finish(("shop", "preview"), held, "memory", False, later)
    assert finished is not None and finished.body["faults"] == []


def test_halt__removes_every_fault_everywhere_with_the_reason(api, chaos_token, other_service, maintainer,
                                                             preview, service):
    ids = [api(chaos_token).post("/api/v1/chaos/faults/", _body(), format="json").json()["id"] for _ in range(2)]
    services.create_fault(service=other_service, environment=preview, kind="db_latency", ttl_seconds=60,
                          actor=maintainer, reason="other")
    response = api(chaos_token).post("/api/v1/chaos/halt", {"reason": "on-call: stop everything"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["removed"] == 3 and set(map(int, body["faults"])) >= set(ids) and body["break_glass"] is False
    assert not Fault.objects.active().exists()
    assert all("on-call: stop everything" in f.removal_reason for f in Fault.objects.all())
    assert _snapshot(api, chaos_token)["faults"] == []


def test_break_glass_halt__snapshots_lose_their_faults_at_once_then_the_replay_records_it(service, preview,
                                                                                        maintainer):
    fault = services.create_fault(service=service, environment=preview, kind="http_errors", ttl_seconds=60,
                                  actor=maintainer, reason="drill")
    snapshot = delivery.get_snapshot("shop", "preview")
    assert snapshot is not None and snapshot.body["faults"]
    services.halt_all_break_glass(reason="database down, INC-9", operator="oncall@host")
    halted = delivery.get_snapshot("shop", "preview")
    assert halted is not None and halted.body["faults"] == []  # no database needed for this
    [(entry, outcome)] = breakglass.replay()
    assert entry["action"] == "halt-chaos" and outcome == "halted 1 fault(s)"
    fault.refresh_from_db()
    assert fault.removed_at is not None and "INC-9" in fault.removal_reason
    assert breakglass.replay() == []
