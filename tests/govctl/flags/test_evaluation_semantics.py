"""Evaluator behaviour beyond the Unleash suite: reasons, typed values, dependencies, newer operators."""

from __future__ import annotations

from typing import Any

import pytest
from govctl.flags import constraints
from govctl.flags.evaluation import SnapshotError, State, evaluate


def _state(*features: dict[str, Any], segments: list | None = None, revision: Any = 12) -> State:
    return State({"version": 2, "features": list(features), "segments": segments or [], "revision": revision})


def _flag(name: str = "f", strategies: list | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "enabled": True, "strategies": strategies if strategies is not None else [], **extra}


def _with(constraint: dict[str, Any]) -> State:
    return _state(_flag(strategies=[{"name": "default", "constraints": [constraint]}]))


# -- reasons -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "context", "reason"),
    [
        (_flag(enabled=False), {}, "DISABLED"),
        (_flag(), {}, "STATIC"),
        (_flag(strategies=[{"name": "default"}]), {}, "STATIC"),
        (
            _flag(strategies=[{"name": "userWithId", "parameters": {"userIds": "7"}}]),
            {"userId": "7"},
            "TARGETING_MATCH",
        ),
        (_flag(strategies=[{"name": "userWithId", "parameters": {"userIds": "7"}}]), {"userId": "8"}, "DEFAULT"),
        (_flag(strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "100"}}]), {}, "STATIC"),
        (
            _flag(strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "userId"}}]),
            {"userId": "1"},
            "TARGETING_MATCH",
        ),
    ],
)
def test_each_outcome__carries_its_openfeature_reason(flag: dict, context: dict, reason: str) -> None:
    assert evaluate(_state(flag), "f", context).reason == reason


def test_user_inside_a_partial_rollout__is_reported_as_split() -> None:
    state = _state(
        _flag(strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId"}}])
    )

    results = [evaluate(state, "f", {"userId": str(i)}) for i in range(200)]

    assert {r.reason for r in results if r.enabled} == {"SPLIT"}
    assert {r.reason for r in results if not r.enabled} == {"DEFAULT"}


def test_weighted_variants__report_split_and_overrides_report_targeting() -> None:
    variants = [
        {"name": "a", "weight": 500, "overrides": [{"contextName": "userId", "values": ["vip"]}]},
        {"name": "b", "weight": 500},
    ]
    state = _state(_flag(variants=variants))

    assert evaluate(state, "f", {"userId": "1"}).reason == "SPLIT"
    assert (evaluate(state, "f", {"userId": "vip"}).variant.name, evaluate(state, "f", {"userId": "vip"}).reason) == (
        "a",
        "TARGETING_MATCH",
    )


def test_unknown_flag__is_an_error_with_the_default_value_and_the_revision() -> None:
    result = evaluate(_state(revision="r-77"), "missing", {}, default="fallback")

    assert (result.value, result.enabled, result.reason, result.error_code, result.revision) == (
        "fallback",
        False,
        "ERROR",
        "FLAG_NOT_FOUND",
        "r-77",
    )


def test_unknown_strategy__never_matches() -> None:
    assert evaluate(_state(_flag(strategies=[{"name": "myCustomStrategy"}])), "f").enabled is False


def test_snapshot_without_features__is_refused() -> None:
    with pytest.raises(SnapshotError):
        State({"version": 1})
    with pytest.raises(SnapshotError):
        State.from_json("{not json")


def test_malformed_feature__is_refused_with_its_name() -> None:
    with pytest.raises(SnapshotError, match="'broken'"):
        State(
            {
                "features": [
                    {"name": "broken", "enabled": True, "strategies": [{"name": "default", "parameters": "rollout=5"}]}
                ]
            }
        )


@pytest.mark.parametrize("context", [["userId", "1"], {"properties": "plan=pro"}])
def test_malformed_context__is_an_invalid_context_error(context: Any) -> None:
    result = evaluate(_state(_flag()), "f", context, default=False)

    assert (result.enabled, result.reason, result.error_code) == (False, "ERROR", "INVALID_CONTEXT")


# -- typed values ------------------------------------------------------------------------------


def _typed(value_type: str, payload: dict[str, Any] | None, enabled: bool = True) -> State:
    variant: dict[str, Any] = {"name": "v", "weight": 1000}
    if payload is not None:
        variant["payload"] = payload
    return _state(_flag(enabled=enabled, valueType=value_type, variants=[variant]))


@pytest.mark.parametrize(
    ("value_type", "payload", "expected"),
    [
        ("string", {"type": "string", "value": "blue"}, "blue"),
        ("number", {"type": "number", "value": "3"}, 3),
        ("number", {"type": "number", "value": "0.25"}, 0.25),
        ("json", {"type": "json", "value": '{"limit": 5, "tags": ["a"]}'}, {"limit": 5, "tags": ["a"]}),
    ],
)
def test_typed_flag__value_comes_from_the_variant_payload(value_type: str, payload: dict, expected: Any) -> None:
    assert evaluate(_typed(value_type, payload), "f", {}, default=None).value == expected


def test_boolean_flag__value_is_the_enabled_state() -> None:
    assert evaluate(_state(_flag()), "f").value is True
    assert evaluate(_state(_flag(enabled=False)), "f", default=True).value is False


def test_disabled_typed_flag__answers_the_default() -> None:
    result = evaluate(_typed("string", {"type": "string", "value": "blue"}, enabled=False), "f", {}, default="grey")

    assert (result.value, result.reason) == ("grey", "DISABLED")


def test_unparseable_payload__is_a_parse_error_with_the_default() -> None:
    result = evaluate(_typed("json", {"type": "json", "value": "{oops"}), "f", {}, default={})

    assert (result.value, result.reason, result.error_code) == ({}, "ERROR", "PARSE_ERROR")


# -- dependencies ------------------------------------------------------------------------------


def _dependent(dependency: dict[str, Any], parent: dict[str, Any]) -> State:
    return _state(parent, _flag("child", strategies=[{"name": "default"}], dependencies=[dependency]))


def test_child_of_an_enabled_parent__is_on_and_off_when_the_parent_is_off() -> None:
    assert evaluate(_dependent({"feature": "p"}, _flag("p")), "child").enabled is True
    result = evaluate(_dependent({"feature": "p"}, _flag("p", enabled=False)), "child")
    assert (result.enabled, result.reason, result.variant.feature_enabled) == (False, "DEFAULT", False)


def test_child_requiring_a_disabled_parent__follows_the_inverse() -> None:
    assert evaluate(_dependent({"feature": "p", "enabled": False}, _flag("p", enabled=False)), "child").enabled is True
    assert evaluate(_dependent({"feature": "p", "enabled": False}, _flag("p")), "child").enabled is False


def test_child_requiring_parent_variants__is_on_only_for_those_variants() -> None:
    parent = _flag("p", variants=[{"name": "blue", "weight": 500}, {"name": "red", "weight": 500}])
    state = _dependent({"feature": "p", "variants": ["blue"]}, parent)

    for user in map(str, range(50)):
        parent_variant = evaluate(state, "p", {"userId": user}).variant.name
        assert evaluate(state, "child", {"userId": user}).enabled is (parent_variant == "blue")


def test_missing_parent_or_a_chain_of_parents__keeps_the_child_off() -> None:
    assert evaluate(_state(_flag("child", dependencies=[{"feature": "ghost"}])), "child").enabled is False
    chain = _state(_flag("a"), _flag("b", dependencies=[{"feature": "a"}]), _flag("c", dependencies=[{"feature": "b"}]))
    assert evaluate(chain, "b").enabled is True
    assert evaluate(chain, "c").enabled is False


# -- operators beyond the 2022 specification --------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "context", "expected"),
    [
        (
            {"contextName": "email", "operator": "REGEX", "value": r"@example\.(com|org)$"},
            {"properties": {"email": "a@example.org"}},
            True,
        ),
        (
            {"contextName": "email", "operator": "REGEX", "value": r"@example\.com$"},
            {"properties": {"email": "a@EXAMPLE.com"}},
            False,
        ),
        (
            {"contextName": "email", "operator": "REGEX", "value": r"@example\.com$", "caseInsensitive": True},
            {"properties": {"email": "a@EXAMPLE.com"}},
            True,
        ),
        (
            {"contextName": "email", "operator": "REGEX", "value": r"@example\.com$", "inverted": True},
            {"properties": {"email": "a@other.com"}},
            True,
        ),
        ({"contextName": "email", "operator": "REGEX", "value": r"(a)\1"}, {"properties": {"email": "aa"}}, False),
        ({"contextName": "email", "operator": "REGEX", "value": "["}, {"properties": {"email": "["}}, False),
        (
            {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8", "192.168.1.0/24"]},
            {"remoteAddress": "10.20.30.40"},
            True,
        ),
        (
            {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]},
            {"remoteAddress": "11.0.0.1"},
            False,
        ),
        (
            {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["2001:db8::/32"]},
            {"remoteAddress": "2001:db8::1"},
            True,
        ),
        (
            {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]},
            {"remoteAddress": "not-an-ip"},
            False,
        ),
        ({"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"], "inverted": True}, {}, True),
        ({"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2001-01-01T00:00:00Z"}, {}, True),
        (
            {"contextName": "plan", "operator": "STR_CONTAINS", "values": ["PRO"], "caseInsensitive": True},
            {"properties": {"plan": "team-pro"}},
            True,
        ),
        (
            {"contextName": "version", "operator": "SEMVER_GTE", "value": "1.2.3"},
            {"properties": {"version": "1.10.0"}},
            True,
        ),
        (
            {"contextName": "version", "operator": "SEMVER_LT", "value": "1.0.0"},
            {"properties": {"version": "1.0.0-rc.1+build.5"}},
            True,
        ),
        ({"contextName": "n", "operator": "NUM_LT", "value": "not-a-number"}, {"properties": {"n": "1"}}, False),
    ],
)
def test_constraint_operator__decides_as_documented(constraint: dict, context: dict, expected: bool) -> None:
    assert evaluate(_with(constraint), "f", context).enabled is expected


def test_regex_without_re2__refuses_what_re2_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constraints, "_re2", None)

    assert constraints.regex_compile(r"(a)\1") is None
    assert constraints.regex_compile(r"foo(?=bar)") is None
    matcher = constraints.regex_compile(r"^ab+c", case_insensitive=True)
    assert matcher is not None and matcher("ABBC") and not matcher("xabc")


def test_application_hostname__matches_the_hostname_in_the_context() -> None:
    state = _state(_flag(strategies=[{"name": "applicationHostname", "parameters": {"hostNames": "web-1, Web-2"}}]))

    assert evaluate(state, "f", {"properties": {"hostname": "WEB-2"}}).enabled is True
    assert evaluate(state, "f", {"properties": {"hostname": "web-3"}}).enabled is False


def test_missing_segment__keeps_the_strategy_off() -> None:
    state = _state(_flag(strategies=[{"name": "default", "segments": [99]}]))

    assert evaluate(state, "f").enabled is False


# -- determinism -------------------------------------------------------------------------------


def test_random_stickiness__same_context_same_answer_and_a_fair_spread() -> None:
    state = _state(
        _flag(strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "30", "stickiness": "random"}}]),
        _flag("g", strategies=[{"name": "gradualRolloutRandom", "parameters": {"percentage": "30"}}]),
    )
    contexts = [{"properties": {"requestId": f"req-{i}"}} for i in range(4000)]

    for key in ("f", "g"):
        first = [evaluate(state, key, c).enabled for c in contexts]
        again = [evaluate(state, key, c).enabled for c in contexts]
        assert first == again
        assert 0.27 < sum(first) / len(first) < 0.33


def test_default_stickiness_without_ids__is_deterministic() -> None:
    state = _state(_flag(strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "50"}}]))
    context = {"remoteAddress": "10.1.2.3", "properties": {"tenant": "acme"}}

    assert len({evaluate(state, "f", context).enabled for _ in range(20)}) == 1
