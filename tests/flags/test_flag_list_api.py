"""GET /api/v1/flags: a service's flags per environment, what a change needs (revision) and what is going on
(expiry of an emergency toggle, pending change requests); GET of a change request's status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flags import services


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


def rows(response):
    return {(row["key"], row["environment"]): row for row in response.json()["flags"]}


def test_list__has_every_flag_in_every_environment_with_its_revision(api, reader, flag, state_of):
    response = api(reader).get("/api/v1/flags", {"service": "shop"})
    assert response.status_code == 200 and response.json()["service"] == "shop"
    found = rows(response)
    keys = {key for key, _ in found}
    assert keys == {"new-checkout", "maintenance_mode", "kill_switch_api", "kill_switch_database",
                    "rate_limit_multiplier"}
    assert {env for _, env in found} == {"development", "preview", "production"}
    row = found[("new-checkout", "production")]
    assert row["revision"] == state_of(flag, "production").revision
    assert (row["kind"], row["value_type"], row["enabled"], row["pending_change_requests"]) == (
        "release", "boolean", False, 0)
    assert found[("rate_limit_multiplier", "production")]["number"] == 1.0


def test_list_for_one_environment__shows_expiry_and_pending_requests(api, reader, flag, state_of, operator):
    kill = services.state_for(service=flag.service, environment=state_of(flag, "production").environment,
                              key="kill_switch_api")
    services.engage_kill_switch(state=kill, actor=operator, reason="INC-1", expires_in=timedelta(minutes=20))
    services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator, reason="launch")
    found = rows(api(reader).get("/api/v1/flags", {"service": "shop", "environment": "production"}))
    assert {env for _, env in found} == {"production"}
    assert found[("kill_switch_api", "production")]["expires_at"] is not None
    assert found[("new-checkout", "production")]["pending_change_requests"] == 1
    assert found[("new-checkout", "production")]["enabled"] is False


def test_overdue_emergency_toggle__is_listed_reverted(api, reader, service, production, force, operator):
    state = services.state_for(service=service, environment=production, key="kill_switch_api")
    force(state, {"enabled": True}, expires_at=timezone.now() - timedelta(minutes=1), revert_to={"enabled": False})
    found = rows(api(reader).get("/api/v1/flags", {"service": "shop", "environment": "production"}))
    assert found[("kill_switch_api", "production")]["enabled"] is False
    assert found[("kill_switch_api", "production")]["expires_at"] is None


def test_archived_flags__are_not_listed(api, reader, flag, operator):
    services.archive_flag(flag=flag, actor=operator, reason="done")
    assert ("new-checkout", "production") not in rows(api(reader).get("/api/v1/flags", {"service": "shop"}))


def test_token_restricted_to_an_environment__sees_only_that_one(api, make_token, flag, preview):
    secret = make_token("flags:read", environments=[preview])
    assert {env for _, env in rows(api(secret).get("/api/v1/flags", {"service": "shop"}))} == {"preview"}
    refused = api(secret).get("/api/v1/flags", {"service": "shop", "environment": "production"})
    assert refused.status_code == 403 and "restricted to other environments" in refused.json()["detail"]


@pytest.mark.parametrize(("query", "status"), [
    ({}, 400), ({"service": "nope"}, 404), ({"service": "shop", "environment": "staging"}, 404),
    ({"service": "shop", "environment": "prod uction"}, 400)])
def test_bad_query__is_a_problem(api, reader, flag, query, status):
    response = api(reader).get("/api/v1/flags", query)
    assert response.status_code == status and response["Content-Type"] == "application/problem+json"


def test_change_request_status__follows_the_decision(api, reader, make_token, flag, state_of, operator,
                                                      administrator, other_service):
    pending = services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                   reason="launch").change_request
    assert pending is not None
    path = f"/api/v1/flags/change-requests/{pending.pk}"
    assert api(reader).get(path).json()["status"] == "pending"
    services.reject_change_request(change_request=pending, actor=administrator, reason="freeze week")
    body = api(reader).get(path).json()
    assert (body["status"], body["decided_by"], body["message"], body["key"]) == (
        "rejected", "ada", "freeze week", "new-checkout")
    assert api(make_token("flags:read", services_=[other_service])).get(path).status_code == 403
    assert api(reader).get("/api/v1/flags/change-requests/999999").status_code == 404
