"""POST /api/v1/flags/evaluate: server-side answers from the same evaluator as the SDK."""

import pytest
from govctl.flags.evaluation import State, evaluate

from flags import services

URL = "/api/v1/flags/evaluate"


@pytest.fixture
def flags(make_flag, state_of, system_user):
    checkout = make_flag("new-checkout")
    services.set_strategies(state=state_of(checkout, "development"), actor=system_user, reason="half", strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "x"}}])
    services.set_enabled(state=state_of(checkout, "development"), enabled=True, actor=system_user, reason="on")
    banner = make_flag("banner", value_type="string")
    services.set_strategies(state=state_of(banner, "development"), actor=system_user, reason="copy", strategies=[],
                            variants=[{"name": "blue", "weight": 1000, "stickiness": "default",
                                       "payload": {"type": "string", "value": "Hello ✓"}}])
    services.set_enabled(state=state_of(banner, "development"), enabled=True, actor=system_user, reason="on")
    return checkout, banner


def test_evaluate__matches_the_sdk_evaluator_on_many_contexts(api, reader, flags):
    snapshot = api(reader).get("/api/v1/flags/snapshot", {"service": "shop", "environment": "development"}).json()
    state = State(snapshot)
    client = api(reader)
    for user in range(40):
        context = {"userId": str(user)}
        response = client.post(URL, {"service": "shop", "environment": "development", "context": context,
                                     "flags": ["new-checkout", "banner"]}, format="json")
        assert response.status_code == 200
        answers = response.json()["flags"]
        for key in ("new-checkout", "banner"):
            assert answers[key] == evaluate(state, key, context).to_dict()
    assert answers["banner"]["value"] == "Hello ✓" and answers["banner"]["variant"]["name"] == "blue"


def test_evaluate_without_a_list__answers_every_flag(api, reader, flags):
    body = api(reader).post(URL, {"service": "shop", "environment": "development"}, format="json").json()
    assert set(body["flags"]) == {"new-checkout", "banner", "maintenance_mode", "kill_switch_api",
                                  "kill_switch_database", "rate_limit_multiplier"}
    assert body["source"] == "database" and body["degraded"] is False and body["revision"] > 0


def test_unknown_flag__is_flag_not_found(api, reader, flags):
    body = api(reader).post(URL, {"service": "shop", "environment": "development", "flags": ["ghost"]},
                            format="json").json()
    assert body["flags"]["ghost"]["error_code"] == "FLAG_NOT_FOUND"


def test_bad_context__is_a_400_problem(api, reader, flags):
    response = api(reader).post(URL, {"service": "shop", "environment": "development", "context": "userId=1"},
                                format="json")
    assert response.status_code == 400 and "context" in response.json()["errors"]
