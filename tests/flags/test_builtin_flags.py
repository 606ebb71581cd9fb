"""Every service gets the operational flags, with a state in every environment; the multiplier is bounded."""

import pytest
from django.core.exceptions import ValidationError

from flags import services
from flags.models import Flag, FlagState, Kind, ValueType
from governance.models import Environment


def test_new_service__gets_the_operational_flags_in_every_environment(service):
    flags = {f.key: f for f in Flag.objects.filter(service=service)}
    assert set(flags) == {"maintenance_mode", "kill_switch_api", "kill_switch_database", "rate_limit_multiplier"}
    assert flags["maintenance_mode"].kind == Kind.KILL_SWITCH and flags["maintenance_mode"].is_permanent
    assert flags["rate_limit_multiplier"].value_type == ValueType.NUMBER
    assert FlagState.objects.filter(flag__service=service).count() == 4 * Environment.objects.count()
    multiplier = FlagState.objects.get(flag=flags["rate_limit_multiplier"], environment__slug="production")
    assert (multiplier.enabled, multiplier.number) == (True, 1.0)


def test_builtin_creation__is_audited_with_the_service_reason(service):
    state = FlagState.objects.get(flag__service=service, flag__key="maintenance_mode", environment__slug="production")
    record = state.history.latest()
    assert record.history_change_reason == "built-in flags: test fixture"
    assert record.history_user.username == "system"


def test_builtin_flags__cannot_be_archived(service, system_user):
    flag = Flag.objects.get(service=service, key="kill_switch_api")
    with pytest.raises(ValidationError, match="Built-in"):
        services.archive_flag(flag=flag, actor=system_user, reason="cleanup")


@pytest.mark.parametrize(("value", "message"), [
    (0.05, "must be at least 0.1"),
    (10.5, "must be at most 10"),
    (3.5, "may change by at most 2 at a time"),
])
def test_multiplier_outside_bounds_or_step__is_refused_clearly(service, operator, state_of, value, message):
    state = state_of(Flag.objects.get(service=service, key="rate_limit_multiplier"), "development")
    with pytest.raises(ValidationError, match=message):
        services.set_number(state=state, number=value, actor=operator, reason="tuning")
    state.refresh_from_db()
    assert state.number == 1.0


def test_multiplier_within_bounds__applies(service, operator, state_of):
    state = state_of(Flag.objects.get(service=service, key="rate_limit_multiplier"), "development")
    outcome = services.set_number(state=state, number=2.5, actor=operator, reason="campaign traffic")
    assert outcome.applied and outcome.state.number == 2.5
    record = outcome.state.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "campaign traffic")
