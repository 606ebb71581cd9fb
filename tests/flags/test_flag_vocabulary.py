"""One vocabulary of flag operations (govctl.flags.flag_ops) for the API, the ops console and govctl; one degraded
answer (govctl.flags.degraded) for the portal and the SDK."""

import pytest
from govctl.cli import build_parser
from govctl.flags import degraded, flag_ops
from govctl.flags.evaluation import ErrorCode, Reason, State

from flags import ops_console
from flags.api.writes import FlagChangeInput
from flags.models import FlagState

SNAPSHOT = {"version": 2, "revision": 9, "features": [
    {"name": "lkg", "enabled": True, "strategies": [], "failureMode": "last_known_good"},
    {"name": "open", "enabled": False, "strategies": [], "failureMode": "fail_open"},
    {"name": "closed", "enabled": True, "strategies": [], "failureMode": "fail_closed"},
    {"name": "price", "enabled": True, "strategies": [], "failureMode": "fail_open", "valueType": "number",
     "variants": [{"name": "value", "weight": 1000, "payload": {"type": "number", "value": "2.5"}}]},
]}


@pytest.mark.parametrize("operation", list(flag_ops.OPERATIONS))
def test_every_operation__is_accepted_by_the_api_and_by_govctl(operation):
    args = build_parser().parse_args(["flags", "set", "--service", "shop", "--environment", "production",
                                      "--flag", "x", "--operation", operation, "--reason", "r"])
    data = FlagChangeInput(data={"operation": operation, "reason": "r"})
    data.is_valid()
    assert args.operation == operation and "operation" not in data.errors


def test_unknown_operation__is_refused_by_the_api_and_by_govctl_naming_the_vocabulary():
    data = FlagChangeInput(data={"operation": "toggle", "reason": "r"})
    assert not data.is_valid() and "engage_kill_switch" in str(data.errors["operation"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["flags", "set", "--service", "s", "--environment", "e", "--flag", "x",
                                   "--operation", "toggle", "--reason", "r"])


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "enabled", "operations"), [
    ("maintenance_mode", False, ["enter_maintenance"]),
    ("maintenance_mode", True, ["exit_maintenance", "enter_maintenance"]),
    ("kill_switch_api", True, ["disengage_kill_switch", "engage_kill_switch"]),
    ("rate_limit_multiplier", True, ["set_number"]),
])
def test_console__offers_the_vocabulary_s_operations_for_each_built_in_flag(service, key, enabled, operations):
    state = FlagState.objects.select_related("flag").filter(flag__service=service, flag__key=key)[0]
    state.enabled = enabled
    assert [op.name for op in ops_console._operations(state)] == operations


@pytest.mark.parametrize(("freshness", "key", "reason", "value"), [
    (degraded.FRESH, "lkg", Reason.STATIC, True),
    (degraded.CACHED, "closed", Reason.CACHED, True),
    (degraded.FALLBACK, "lkg", Reason.STALE, True),
    (degraded.FALLBACK, "open", Reason.ERROR, True),
    (degraded.FALLBACK, "closed", Reason.ERROR, False),
    (degraded.FALLBACK, "price", Reason.ERROR, 1.0),  # not boolean: the caller's default
])
def test_degraded_answer__by_freshness_and_failure_mode(freshness, key, reason, value):
    result = degraded.answer(State(SNAPSHOT), key, None, 1.0 if key == "price" else None, freshness=freshness,
                             why="test")
    assert (result.reason, result.value) == (reason, value)
    assert result.error_code == (ErrorCode.GENERAL if reason == Reason.ERROR else None)


def test_no_data__answers_the_caller_s_failure_mode_else_its_default():
    assert degraded.answer(None, "x", None, None, freshness=degraded.FALLBACK, why="down",
                           fallback_mode="fail_open").value is True
    assert degraded.answer(None, "x", None, "d", freshness=degraded.FALLBACK, why="down").value == "d"
