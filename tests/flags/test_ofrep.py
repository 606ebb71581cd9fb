"""OFREP v1 endpoints, through the API client and through the real openfeature-provider-ofrep."""

import pytest
from govctl.flags.evaluation import State, evaluate
from openfeature import api as openfeature
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode

from flags import services

TARGET = {"HTTP_X_GOVERNANCE_SERVICE": "shop", "HTTP_X_GOVERNANCE_ENVIRONMENT": "development"}
ONE = "/ofrep/v1/evaluate/flags/{}"
BULK = "/ofrep/v1/evaluate/flags"


@pytest.fixture
def flags(make_flag, state_of, system_user):
    checkout = make_flag("new-checkout")
    services.set_strategies(state=state_of(checkout, "development"), actor=system_user, reason="half", strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "co"},
         "constraints": [{"contextName": "country", "operator": "IN", "values": ["FR", "DE"]}]}])
    services.set_enabled(state=state_of(checkout, "development"), enabled=True, actor=system_user, reason="on")
    banner = make_flag("bannière", value_type="string")
    services.set_strategies(state=state_of(banner, "development"), actor=system_user, reason="copy", strategies=[],
                            variants=[{"name": "a", "weight": 500, "stickiness": "userId",
                                       "payload": {"type": "string", "value": "Bonjour"}},
                                      {"name": "b", "weight": 500, "stickiness": "userId",
                                       "payload": {"type": "string", "value": "Salut"}}])
    services.set_enabled(state=state_of(banner, "development"), enabled=True, actor=system_user, reason="on")
    return checkout, banner


def _snapshot_state(client):
    return State(client.get("/api/v1/flags/snapshot", {"service": "shop", "environment": "development"}).json())


def test_single__answers_value_reason_variant_and_metadata(api, reader, flags):
    client = api(reader)
    body = client.post(ONE.format("new-checkout"), {"context": {"targetingKey": "7", "country": "FR"}},
                       format="json", **TARGET).json()
    expected = evaluate(_snapshot_state(client), "new-checkout", {"userId": "7", "properties": {"country": "FR"}})
    assert body["key"] == "new-checkout"
    assert (body["value"], body["reason"]) == (expected.value, expected.reason)
    assert body["variant"] == expected.variant.name
    assert body["metadata"] == {"revision": expected.revision, "valueType": "boolean"}


def test_unknown_flag__is_404_flag_not_found(api, reader, flags):
    response = api(reader).post(ONE.format("ghost"), {"context": {}}, format="json", **TARGET)
    assert response.status_code == 404
    assert response.json() == {"key": "ghost", "errorCode": "FLAG_NOT_FOUND",
                               "errorDetails": "No flag 'ghost' in shop/development."}


def test_target_that_cannot_be_a_slug__is_a_4xx_problem(api, reader, flags):
    client = api(reader)
    nul = client.post(BULK, {"context": {"service": "sh\x00op", "environment": "development"}}, format="json")
    long = client.post(ONE.format("new-checkout"), {"context": {}}, format="json",
                       **{**TARGET, "HTTP_X_GOVERNANCE_SERVICE": "s" * 1000})  # longer than a cache key may be
    assert (nul.status_code, long.status_code) == (400, 404)  # NUL: refused by the JSON parser, as everywhere
    assert "NUL character" in nul.json()["detail"] and "context.service" in nul.json()["detail"]
    assert client.post(BULK, {"context": {}}, format="json", **TARGET).status_code == 200


def test_context_that_is_not_an_object__is_400_invalid_context(api, reader, flags):
    response = api(reader).post(ONE.format("new-checkout"), {"context": "x"}, format="json", **TARGET)
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_CONTEXT"


def test_missing_target__is_400_with_how_to_say_it(api, reader, flags):
    response = api(reader).post(ONE.format("new-checkout"), {"context": {}}, format="json")
    assert response.status_code == 400
    assert "X-Governance-Service" in response.json()["errorDetails"]


def test_target__can_come_from_the_context_or_a_restricted_token(api, make_token, flags, service, development):
    by_context = api(make_token("flags:read")).post(ONE.format("new-checkout"), {"context": {
        "service": "shop", "environment": "development"}}, format="json")
    assert by_context.status_code == 200
    restricted = make_token("flags:read", services_=[service], environments=[development])
    assert api(restricted).post(ONE.format("new-checkout"), {"context": {}}, format="json").status_code == 200


def test_disabled_string_flag__leaves_the_value_to_the_code_default(api, reader, flags, state_of, system_user):
    services.set_enabled(state=state_of(flags[1], "development"), enabled=False, actor=system_user, reason="off")
    body = api(reader).post(ONE.format("bannière"), {"context": {}}, format="json", **TARGET).json()
    assert "value" not in body and body["reason"] == "DISABLED"


def test_bulk__evaluates_every_flag_with_an_etag(api, reader, flags):
    client = api(reader)
    response = client.post(BULK, {"context": {"targetingKey": "3"}}, format="json", **TARGET)
    assert response.status_code == 200
    keys = [f["key"] for f in response.json()["flags"]]
    assert "new-checkout" in keys and "bannière" in keys and "rate_limit_multiplier" in keys
    etag = response["ETag"]
    again = client.post(BULK, {"context": {"targetingKey": "3"}}, format="json", HTTP_IF_NONE_MATCH=etag, **TARGET)
    assert again.status_code == 304
    other = client.post(BULK, {"context": {"targetingKey": "4"}}, format="json", HTTP_IF_NONE_MATCH=etag, **TARGET)
    assert other.status_code in (200, 304)  # another context may or may not evaluate the same


@pytest.fixture
def of_client(live_server, reader):
    openfeature.set_provider(OFREPProvider(live_server.url, headers_factory=lambda: {
        "Authorization": f"Bearer {reader}", "X-Governance-Service": "shop",
        "X-Governance-Environment": "development"}))
    yield openfeature.get_client()
    openfeature.clear_providers()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_real_ofrep_provider__resolves_like_the_portal_evaluator(of_client, flags, api, reader):
    state = _snapshot_state(api(reader))
    for user in range(30):
        for country in ("FR", "US"):
            context = EvaluationContext(targeting_key=str(user), attributes={"country": country})
            details = of_client.get_boolean_details("new-checkout", False, context)
            expected = evaluate(state, "new-checkout", {"userId": str(user), "properties": {"country": country}})
            assert (details.value, details.reason, details.error_code) == (expected.value, expected.reason, None)
        banner = of_client.get_string_details("bannière", "default", EvaluationContext(targeting_key=str(user)))
        expected = evaluate(state, "bannière", {"userId": str(user)})
        assert (banner.value, banner.variant) == (expected.value, expected.variant.name)
    assert of_client.get_float_value("rate_limit_multiplier", 0.0) == 1.0
    missing = of_client.get_boolean_details("ghost", True)
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
