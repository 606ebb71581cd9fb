"""Reducing exposure applies at once; widening it in production (second person) becomes a change request."""

import pytest
from django.core.exceptions import ValidationError

from flags import services
from flags.models import ChangeRequest, Flag


def rollout(percent, **params):
    return [{"name": "flexibleRollout", "parameters": {"rollout": str(percent), "stickiness": "default",
                                                       "groupId": "new-checkout", **params}}]


@pytest.fixture
def live_flag(make_flag, state_of, system_user):
    """On in production for 50% (set up by the system user, bypassing the rule only in the fixture)."""
    flag = make_flag("new-checkout")
    state = state_of(flag, "production")
    services._apply(services._lock(state), {"enabled": True, "strategies": rollout(50)}, actor=system_user,
                    reason="fixture: live at 50%")
    return flag


def test_turning_on_in_production__becomes_a_change_request(make_flag, state_of, operator):
    flag = make_flag("new-checkout")
    outcome = services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                   reason="launch")
    assert not outcome.applied
    request = outcome.change_request
    assert request is not None
    assert (request.status, request.author, request.operation) == ("pending", operator, "set_enabled")
    assert "second person" in outcome.message
    assert state_of(flag, "production").enabled is False


def test_turning_on_in_development__applies_at_once(make_flag, state_of, operator):
    flag = make_flag("new-checkout")
    assert services.set_enabled(state=state_of(flag, "development"), enabled=True, actor=operator,
                                reason="dev").applied


def test_turning_off_in_production__applies_at_once(live_flag, state_of, operator):
    outcome = services.set_enabled(state=state_of(live_flag, "production"), enabled=False, actor=operator,
                                   reason="errors up")
    assert outcome.applied and not outcome.state.enabled


@pytest.mark.parametrize("strategies", [
    rollout(20),
    [{"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "new-checkout"},
      "constraints": [{"contextName": "country", "operator": "IN", "values": ["FR"]}]}],
])
def test_narrowing_the_rollout__applies_at_once(live_flag, state_of, operator, strategies):
    outcome = services.set_strategies(state=state_of(live_flag, "production"), strategies=strategies,
                                      actor=operator, reason="narrow")
    assert outcome.applied


@pytest.mark.parametrize("strategies", [
    rollout(80),
    rollout(20, stickiness="sessionId"),  # another stickiness reshuffles who is in
    [],  # no strategies: everyone
    [*rollout(50), {"name": "userWithId", "parameters": {"userIds": "42"}}],
])
def test_widening_the_rollout__needs_a_second_person(live_flag, state_of, operator, strategies):
    outcome = services.set_strategies(state=state_of(live_flag, "production"), strategies=strategies,
                                      actor=operator, reason="widen")
    assert not outcome.applied
    assert outcome.change_request is not None and outcome.change_request.operation == "set_strategies"


def test_fewer_users__is_narrowing(make_flag, state_of, operator, system_user):
    flag = make_flag("beta")
    state = state_of(flag, "production")
    services._apply(services._lock(state), {"enabled": True, "strategies": [
        {"name": "userWithId", "parameters": {"userIds": "1,2,3"}}]}, actor=system_user, reason="fixture")
    assert services.set_strategies(state=state_of(flag, "production"), actor=operator, reason="drop 3",
                                   strategies=[{"name": "userWithId", "parameters": {"userIds": "1, 2"}}]).applied
    assert not services.set_strategies(state=state_of(flag, "production"), actor=operator, reason="add 4",
                                       strategies=[{"name": "userWithId",
                                                    "parameters": {"userIds": "1,2,4"}}]).applied


def test_kill_switch__engages_at_once_and_disengaging_needs_a_second_person(service, state_of, operator):
    flag = Flag.objects.get(service=service, key="kill_switch_api")
    assert services.engage_kill_switch(state=state_of(flag, "production"), actor=operator, reason="attack").applied
    outcome = services.disengage_kill_switch(state=state_of(flag, "production"), actor=operator, reason="over")
    assert not outcome.applied and state_of(flag, "production").enabled is True


def test_multiplier__lower_applies_higher_needs_a_second_person(service, state_of, operator):
    flag = Flag.objects.get(service=service, key="rate_limit_multiplier")
    assert services.set_number(state=state_of(flag, "production"), number=0.5, actor=operator,
                               reason="shed load").applied
    outcome = services.set_number(state=state_of(flag, "production"), number=1.5, actor=operator, reason="restore")
    assert not outcome.applied and state_of(flag, "production").number == 0.5


def test_approval_by_another_person__applies_it(make_flag, state_of, operator, release_manager):
    flag = make_flag("new-checkout")
    request = services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                   reason="launch").change_request
    assert request is not None
    services.approve_change_request(change_request=request, actor=release_manager, reason="looks good")
    request.refresh_from_db()
    state = state_of(flag, "production")
    assert request.status == "applied" and request.decided_by == release_manager
    assert state.enabled is True
    record = state.history.latest()
    assert record.history_user == release_manager
    assert f"change request #{request.pk} by olga" in record.history_change_reason
    assert request.history.latest().history_change_reason == "looks good"


def test_author__cannot_approve_their_own_request(make_flag, state_of, operator):
    flag = make_flag("new-checkout")
    request = services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                   reason="launch").change_request
    assert request is not None
    with pytest.raises(ValidationError, match="cannot approve it"):
        services.approve_change_request(change_request=request, actor=operator, reason="self")
    request.refresh_from_db()
    assert request.status == "pending" and state_of(flag, "production").enabled is False


def test_approval_after_the_flag_changed__is_refused_and_marked_failed(live_flag, state_of, operator,
                                                                       release_manager, administrator):
    request = services.set_strategies(state=state_of(live_flag, "production"), strategies=rollout(90),
                                      actor=operator, reason="widen").change_request
    assert request is not None
    services.set_strategies(state=state_of(live_flag, "production"), strategies=rollout(10),
                            actor=administrator, reason="narrow meanwhile")
    with pytest.raises(ValidationError, match="changed since the request was made"):
        services.approve_change_request(change_request=request, actor=release_manager, reason="ok")
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.FAILED
    assert state_of(live_flag, "production").strategies == rollout(10)


def test_reject__records_who_and_why(make_flag, state_of, operator, release_manager):
    flag = make_flag("new-checkout")
    request = services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                   reason="launch").change_request
    assert request is not None
    services.reject_change_request(change_request=request, actor=release_manager, reason="not this week")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.message) == ("rejected", release_manager, "not this week")
    with pytest.raises(ValidationError, match=r"is rejected: it cannot move to applied \(allowed next: none"):
        services.approve_change_request(change_request=request, actor=release_manager, reason="changed my mind")
