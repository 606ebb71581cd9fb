"""The Unleash-compatible client API, read by the official UnleashClient SDK against a live portal."""

import time

import pytest
from govctl.flags.evaluation import State, evaluate
from UnleashClient import UnleashClient

from flags import services

FEATURES = "/api/client/features"


@pytest.fixture
def flags(make_flag, state_of, system_user):
    checkout = make_flag("new-checkout")
    services.set_strategies(state=state_of(checkout, "development"), actor=system_user, reason="rollout", strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "co"},
         "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]},
        {"name": "userWithId", "parameters": {"userIds": "7,8"}}])
    services.set_enabled(state=state_of(checkout, "development"), enabled=True, actor=system_user, reason="on")
    hero = make_flag("hero-test", kind="experiment", value_type="string")
    services.set_strategies(state=state_of(hero, "development"), actor=system_user, reason="ab", strategies=[],
                            variants=[{"name": "red", "weight": 300, "stickiness": "default",
                                       "payload": {"type": "string", "value": "Red"}},
                                      {"name": "blue", "weight": 700, "stickiness": "default",
                                       "payload": {"type": "string", "value": "Blue"}}])
    services.set_enabled(state=state_of(hero, "development"), enabled=True, actor=system_user, reason="on")


def test_features__is_the_snapshot_with_its_etag(api, reader, flags):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=reader)  # bare, as Unleash SDKs send it
    headers = {"HTTP_X_GOVERNANCE_ENVIRONMENT": "development", "HTTP_UNLEASH_APPNAME": "shop"}
    response = client.get(FEATURES, **headers)
    assert response.status_code == 200
    assert {f["name"] for f in response.json()["features"]} >= {"new-checkout", "hero-test"}
    assert client.get(FEATURES, HTTP_IF_NONE_MATCH=response["ETag"], **headers).status_code == 304


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_official_unleash_sdk__evaluates_like_govctl(live_server, reader, flags, api, tmp_path):
    snapshot = api(reader).get("/api/v1/flags/snapshot", {"service": "shop", "environment": "development"}).json()
    state = State(snapshot)
    sdk = UnleashClient(url=f"{live_server.url}/api", app_name="shop", instance_id="test-1",
                        custom_headers={"Authorization": reader, "X-Governance-Environment": "development"},
                        refresh_interval=3600, metrics_interval=3600, cache_directory=str(tmp_path))
    sdk.initialize_client()
    try:
        deadline = time.monotonic() + 10
        while not sdk.is_initialized and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sdk.is_enabled("kill_switch_api") is False
        checked = 0
        for user in range(60):
            for plan in ("pro", "free"):
                context = {"userId": str(user), "properties": {"plan": plan}}
                ours = evaluate(state, "new-checkout", context)
                assert sdk.is_enabled("new-checkout", context) == ours.enabled, context
                theirs = sdk.get_variant("hero-test", context)
                expected = evaluate(state, "hero-test", context).variant
                assert expected.payload is not None
                assert (theirs["name"], theirs.get("payload")) == (expected.name, dict(expected.payload)), context
                checked += 1
        assert checked == 120
        assert any(evaluate(state, "new-checkout", {"userId": str(u), "properties": {"plan": "pro"}}).enabled
                   for u in range(60))
        number = sdk.get_variant("rate_limit_multiplier", {})
        assert number["payload"] == {"type": "number", "value": "1.0"}
    finally:
        sdk.destroy()
