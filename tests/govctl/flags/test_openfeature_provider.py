"""OpenFeature resolution: the duck-typed provider and the adapter for the official SDK."""

from __future__ import annotations

from typing import Any

import pytest
from govctl.flags.provider import GovernanceProvider, unleash_context
from govctl.openfeature_provider import GovernanceOpenFeatureProvider
from govctl.sdk import StaticFlagClient
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import Reason


def _typed(name: str, value_type: str, kind: str, value: str) -> dict[str, Any]:
    return {
        "name": name,
        "enabled": True,
        "valueType": value_type,
        "strategies": [],
        "variants": [{"name": f"{name}-v", "weight": 1000, "payload": {"type": kind, "value": value}}],
    }


SNAPSHOT = {
    "version": 2,
    "revision": 31,
    "features": [
        {"name": "beta", "enabled": True, "strategies": [{"name": "userWithId", "parameters": {"userIds": "u1"}}]},
        {
            "name": "pro-only",
            "enabled": True,
            "strategies": [
                {"name": "default", "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}
            ],
        },
        _typed("banner", "string", "string", "Hello"),
        _typed("page-size", "number", "number", "25"),
        _typed("ratio", "number", "number", "0.5"),
        _typed("limits", "json", "json", '{"max": 3}'),
    ],
}


@pytest.fixture
def provider() -> GovernanceProvider:
    return GovernanceProvider(StaticFlagClient(SNAPSHOT))


def test_targeting_key__is_the_unleash_user_id(provider: GovernanceProvider) -> None:
    details = provider.resolve_boolean_details("beta", False, EvaluationContext(targeting_key="u1"))

    assert (details.value, details.reason, details.error_code) == (True, "TARGETING_MATCH", None)
    assert details.flag_metadata == {"revision": "31"}


def test_attributes__become_unleash_properties() -> None:
    context = EvaluationContext("u1", {"plan": "pro", "sessionId": "s", "beta": True, "seats": 3})

    assert unleash_context(context) == {
        "userId": "u1",
        "sessionId": "s",
        "properties": {"plan": "pro", "beta": "true", "seats": "3"},
    }


@pytest.mark.parametrize(
    ("method", "key", "default", "expected"),
    [
        ("resolve_string_details", "banner", "", "Hello"),
        ("resolve_integer_details", "page-size", 10, 25),
        ("resolve_float_details", "ratio", 1.0, 0.5),
        ("resolve_float_details", "page-size", 1.0, 25.0),
        ("resolve_object_details", "limits", {}, {"max": 3}),
    ],
)
def test_typed_resolution__returns_the_payload_value(
    provider, method: str, key: str, default: Any, expected: Any
) -> None:
    details = getattr(provider, method)(key, default, None)

    assert (details.value, details.error_code) == (expected, None)
    assert type(details.value) is type(expected)


def test_wrong_type__is_a_type_mismatch_with_the_default(provider: GovernanceProvider) -> None:
    details = provider.resolve_integer_details("banner", 7, None)

    assert (details.value, details.reason, details.error_code) == (7, "ERROR", "TYPE_MISMATCH")
    assert provider.resolve_boolean_details("banner", False, None).error_code == "TYPE_MISMATCH"
    assert provider.resolve_string_details("beta", "x", {"userId": "u1"}).error_code == "TYPE_MISMATCH"


def test_unknown_flag__is_flag_not_found(provider: GovernanceProvider) -> None:
    details = provider.resolve_boolean_details("nope", True, None)

    assert (details.value, details.error_code) == (True, "FLAG_NOT_FOUND")


def test_official_sdk_client__resolves_through_the_adapter() -> None:
    api.set_provider(GovernanceOpenFeatureProvider(StaticFlagClient(SNAPSHOT)))
    try:
        client = api.get_client()

        on = client.get_boolean_details("pro-only", False, EvaluationContext("u9", {"plan": "pro"}))
        off = client.get_boolean_details("pro-only", True, EvaluationContext("u9", {"plan": "free"}))
        missing = client.get_string_details("nope", "dflt")
        banner = client.get_string_value("banner", "")
    finally:
        api.clear_providers()

    assert (on.value, on.reason) == (True, Reason.TARGETING_MATCH)
    assert (off.value, off.reason) == (False, Reason.DEFAULT)
    assert (missing.value, missing.error_code) == ("dflt", "FLAG_NOT_FOUND")
    assert banner == "Hello"
    assert GovernanceOpenFeatureProvider(StaticFlagClient(SNAPSHOT)).get_metadata().name == "governance-portal"
