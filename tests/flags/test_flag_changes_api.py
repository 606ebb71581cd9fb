"""Changing flags through the API: the admin's rules (narrow at once, widen → change request), 409 on a stale
revision, 400/404 with the service's message, idempotent retries, audit with the token owner and the reason."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flags import services
from flags.models import ChangeRequest
from governance import roles
from governance.models import AuditEvent


def url(key, environment="production", service="shop"):
    return f"/api/v1/flags/{service}/{environment}/{key}/changes"


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


@pytest.fixture
def writer(make_token, operator):
    """A token owned by the operator olga, named "pager"."""
    return make_token("flags:write", "flags:read", owner=operator, name="pager")


@pytest.fixture
def change(api, writer):
    client = api(writer)

    def post(key, operation, environment="production", headers=None, **body):
        return client.post(url(key, environment), {"operation": operation, "reason": "INC-42", **body},
                           format="json", **(headers or {}))

    return post


def test_disable_in_production__applies_at_once_with_a_new_revision(change, flag, state_of, force):
    before = force(state_of(flag, "production"), {"enabled": True}).revision
    response = change("new-checkout", "disable")
    assert response.status_code == 200, response.json()
    body = response.json()
    state = state_of(flag, "production")
    assert body["applied"] is True and body["change_request"] is None
    assert state.enabled is False and state.revision > before
    assert body["state"] | {"updated_at": None} == {
        "service": "shop", "environment": "production", "key": "new-checkout", "kind": "release",
        "value_type": "boolean", "enabled": False, "number": None, "strategies": [], "variants": [],
        "dependencies": [], "revision": state.revision, "expires_at": None, "updated_at": None,
        "pending_change_requests": 0}


def test_enable_where_no_second_person_is_needed__applies_at_once(change, flag, state_of):
    response = change("new-checkout", "enable", environment="preview")
    assert response.status_code == 200
    assert state_of(flag, "preview").enabled is True
    assert not ChangeRequest.objects.exists()


def test_enable_in_production__becomes_a_change_request_with_a_location(api, writer, change, flag, state_of,
                                                                          operator):
    before = state_of(flag, "production").revision
    response = change("new-checkout", "enable")
    assert response.status_code == 202, response.json()
    body = response.json()
    request_ = ChangeRequest.objects.get()
    assert body["applied"] is False and "waits for a second person" in body["message"]
    assert body["change_request"]["id"] == request_.pk and body["change_request"]["status"] == "pending"
    assert body["change_request"]["author"] == "olga" and request_.author == operator
    assert body["change_request"]["admin_url"].endswith(reverse("admin:flags_changerequest_change",
                                                                args=[request_.pk]))
    assert body["state"]["enabled"] is False and body["state"]["pending_change_requests"] == 1
    state = state_of(flag, "production")
    assert (state.enabled, state.revision) == (False, before)  # nothing applied yet
    assert response["Location"] == body["change_request"]["url"]
    status = api(writer).get(response["Location"])
    assert status.status_code == 200 and status.json()["status"] == "pending"


def test_change_request_from_the_api__cannot_be_approved_by_its_token_owner_but_by_another_operator(
        client, change, flag, state_of, operator, make_user):
    request_id = change("new-checkout", "enable").json()["change_request"]["id"]
    approve = {"action": "approve", "_selected_action": [request_id], "confirm": "yes", "reason": "looks good"}

    client.force_login(operator)
    page = client.post(reverse("admin:flags_changerequest_changelist"), approve, follow=True).content.decode()
    assert "cannot approve it" in page
    assert ChangeRequest.objects.get(pk=request_id).status == "pending"
    assert state_of(flag, "production").enabled is False

    second = make_user("otto", roles.OPERATOR)
    client.force_login(second)
    page = client.post(reverse("admin:flags_changerequest_changelist"), approve, follow=True).content.decode()
    assert "applied as revision" in page
    assert ChangeRequest.objects.get(pk=request_id).status == "applied"
    state = state_of(flag, "production")
    assert state.enabled is True and state.history.latest().history_user == second


def test_narrower_rollout_in_production__applies_and_a_wider_one_waits(change, flag, state_of, force):
    force(state_of(flag, "production"), {"enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "g"}}]})

    def rollout(percent):
        return {"strategies": [{"name": "flexibleRollout",
                                "parameters": {"rollout": percent, "stickiness": "default", "groupId": "g"}}]}

    assert change("new-checkout", "set_strategies", payload=rollout("10")).status_code == 200
    assert state_of(flag, "production").strategies[0]["parameters"]["rollout"] == "10"
    assert change("new-checkout", "set_strategies", payload=rollout("90")).status_code == 202
    assert state_of(flag, "production").strategies[0]["parameters"]["rollout"] == "10"


def test_engage_kill_switch_in_production__applies_at_once_with_its_expiry(change, service, state_of):
    response = change("kill_switch_api", "engage_kill_switch", expires_in_minutes=15)
    assert response.status_code == 200, response.json()
    from flags.models import Flag

    state = state_of(Flag.objects.get(service=service, key="kill_switch_api"), "production")
    assert state.enabled is True and state.revert_to == {"enabled": False}
    assert abs(state.expires_at - (timezone.now() + timedelta(minutes=15))) < timedelta(seconds=30)
    assert response.json()["state"]["expires_at"] is not None


def test_disengage_kill_switch_in_production__needs_a_second_person(change, service):
    assert change("kill_switch_api", "engage_kill_switch").status_code == 200
    response = change("kill_switch_api", "disengage_kill_switch")
    assert response.status_code == 202 and response.json()["state"]["enabled"] is True


def test_enter_maintenance__expires_after_30_minutes_unless_told(change, service):
    state = change("maintenance_mode", "enter_maintenance").json()["state"]
    assert state["enabled"] is True
    expires = datetime.fromisoformat(state["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(minutes=30))) < timedelta(seconds=30)
    assert change("maintenance_mode", "exit_maintenance", environment="preview").status_code == 200


def test_enter_maintenance_on_another_flag__is_refused(change, service):
    response = change("kill_switch_api", "enter_maintenance")
    assert response.status_code == 400 and "applies to maintenance_mode" in response.json()["detail"]


def test_multiplier__lower_applies_higher_waits_out_of_bounds_is_refused(change, service):
    assert change("rate_limit_multiplier", "set_number", payload={"number": 0.5}).status_code == 200
    assert change("rate_limit_multiplier", "set_number", payload={"number": 2}).status_code == 202
    too_big = change("rate_limit_multiplier", "set_number", environment="development", payload={"number": 50})
    assert too_big.status_code == 400
    assert too_big.json()["errors"] == {"number": ["rate_limit_multiplier must be at most 10 (got 50)."]}
    step = change("rate_limit_multiplier", "set_number", environment="development", payload={"number": 4})
    assert step.status_code == 400 and "change it in steps" in step.json()["detail"]


@pytest.mark.parametrize(("operation", "body", "message"), [
    ("set_strategies", {"payload": {"strategies": [{"name": "flexibleRolout"}]}}, "unknown strategy 'flexibleRolout'"),
    ("set_strategies", {"payload": {"strategies": "default"}}, "'strategies' must be a list of objects"),
    ("set_strategies", {"payload": {}}, "Give strategies, variants or dependencies"),
    # malformed JSON the validator used to trip over (TypeError → 500)
    ("set_strategies", {"payload": {"strategies": [{"name": ["default"]}]}}, "unknown strategy ['default']"),
    ("set_strategies", {"payload": {"strategies": [{"name": "default", "segments": [[1]]}]}},
     "'segments' must be a list of segment ids"),
    ("set_strategies", {"payload": {"strategies": [{"name": "default", "constraints": [
        {"contextName": "plan", "operator": ["IN"], "values": ["pro"]}]}]}}, "unknown constraint operator"),
    ("set_strategies", {"payload": {"dependencies": [{"feature": ["parent"]}]}}, "needs a 'feature'"),
    ("set_number", {"payload": {"number": 2}}, "is a boolean flag, not a number flag"),
    ("set_number", {"payload": {"number": True}}, "needs {\"number\": <a number>}"),
    ("enable", {"payload": {"enabled": True}}, "enable takes no payload (got enabled)"),
    ("enable", {"expires_in_minutes": 5}, "enable does not expire"),
    ("engage_kill_switch", {}, "is not a kill switch"),
    ("engage_kill_switch", {"expires_in_minutes": 0}, "greater than or equal to 1"),
    ("switch_on", {}, "'switch_on' is not an operation"),
    ("enable", {"reason": "   "}, "reason"),
    ("enable", {"expected_revision": "abc"}, "valid integer"),
])
def test_bad_change__is_400_with_the_reason_and_changes_nothing(change, flag, state_of, operation, body, message):
    before = state_of(flag, "development").revision
    response = change("new-checkout", operation, environment="development", **body)
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert message in str(response.json())
    assert state_of(flag, "development").revision == before


def test_missing_reason__is_400(api, writer, flag):
    response = api(writer).post(url("new-checkout"), {"operation": "disable"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]


def test_stale_expected_revision__is_409_naming_the_current_revision(change, flag, state_of, force):
    seen = state_of(flag, "development").revision
    current = force(state_of(flag, "development"), {"enabled": True}).revision
    response = change("new-checkout", "disable", environment="development", expected_revision=seen)
    assert response.status_code == 409
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["current_revision"] == current and f"revision {seen} → {current}" in body["detail"]
    assert state_of(flag, "development").enabled is True  # no lost update
    fresh = change("new-checkout", "disable", environment="development", expected_revision=current)
    assert fresh.status_code == 200


@pytest.mark.parametrize(("path", "message"), [
    (url("no-such-flag"), "shop has no flag 'no-such-flag' in production"),
    (url("new-checkout", environment="staging"), "No environment 'staging'"),
    (url("new-checkout", service="nope"), "No service 'nope'"),
])
def test_unknown_target__is_404(api, writer, flag, path, message):
    response = api(writer).post(path, {"operation": "disable", "reason": "x"}, format="json")
    assert response.status_code == 404 and message in response.json()["detail"]


def test_archived_flag__is_refused(change, flag, operator):
    services.archive_flag(flag=flag, actor=operator, reason="done")
    response = change("new-checkout", "disable")
    assert response.status_code == 400 and "is archived" in response.json()["detail"]


def test_retry_with_the_same_idempotency_key__replays_and_applies_once(change, flag, state_of):
    first = change("new-checkout", "enable", environment="development", headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    revision = state_of(flag, "development").revision
    again = change("new-checkout", "enable", environment="development", headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert state_of(flag, "development").revision == revision
    other = change("new-checkout", "disable", environment="development", headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert other.status_code == 422


def test_retried_widening_change__makes_one_change_request_and_keeps_its_location(change, flag):
    first = change("new-checkout", "enable", headers={"HTTP_IDEMPOTENCY_KEY": "k-2"})
    again = change("new-checkout", "enable", headers={"HTTP_IDEMPOTENCY_KEY": "k-2"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Location"] == first["Location"] and again["Idempotent-Replayed"] == "true"
    assert ChangeRequest.objects.count() == 1


def test_applied_change__is_audited_with_the_token_owner_and_the_reason(change, flag, state_of, operator):
    change("new-checkout", "enable", environment="development", reason="turn on after deploy 1.4.2")
    state = state_of(flag, "development")
    record = state.history.latest()
    expected_reason = "api (pager): turn on after deploy 1.4.2"
    assert (record.history_user, record.history_change_reason) == (operator, expected_reason)
    event = AuditEvent.objects.filter(model="flags.flagstate", object_id=str(state.pk)).order_by("-at", "-pk").first()
    assert event is not None
    assert (event.actor, event.reason, event.service_id) == (operator, expected_reason, flag.service_id)
    assert {"field": "enabled", "old": False, "new": True} in event.changes


def test_change_request__is_audited_with_the_token_owner_and_the_reason(change, flag, operator):
    change("new-checkout", "enable", reason="launch day")
    request_ = ChangeRequest.objects.get()
    record = request_.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "api (pager): launch day")
    assert request_.reason == "api (pager): launch day"


def test_applied_change__reaches_the_snapshot_services_read(api, reader, change, flag):
    snapshot = "/api/v1/flags/snapshot?service=shop&environment=development"
    before = api(reader).get(snapshot)
    feature = next(f for f in before.json()["features"] if f["name"] == "new-checkout")
    assert feature["enabled"] is False
    applied = change("new-checkout", "enable", environment="development").json()
    after = api(reader).get(snapshot, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.json()["revision"] == applied["state"]["revision"]
    assert next(f for f in after.json()["features"] if f["name"] == "new-checkout")["enabled"] is True


def test_widening_change__leaves_the_snapshot_as_it_was(api, reader, change, flag):
    snapshot = "/api/v1/flags/snapshot?service=shop&environment=production"
    before = api(reader).get(snapshot)
    assert change("new-checkout", "enable").status_code == 202
    assert api(reader).get(snapshot, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
