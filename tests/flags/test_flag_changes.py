"""Flag changes: actor and reason recorded, revisions grow, stale edits refused, bad definitions refused."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from flags import services
from flags.models import FlagState, Segment
from governance.models import AuditEvent


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


def test_set_enabled__records_actor_reason_and_a_new_revision(flag, state_of, operator):
    state = state_of(flag, "development")
    before = state.revision
    outcome = services.set_enabled(state=state, enabled=True, actor=operator, reason="try it in dev")
    assert outcome.applied and outcome.state.enabled and outcome.state.revision > before
    record = outcome.state.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "try it in dev")
    event = AuditEvent.objects.filter(model="flags.flagstate", object_id=str(state.pk)).first()
    assert event is not None and event.service_id == flag.service_id
    assert {"field": "enabled", "old": False, "new": True} in event.changes


def test_change_without_reason__is_refused(flag, state_of, operator):
    with pytest.raises(ValidationError, match="reason"):
        services.set_enabled(state=state_of(flag, "development"), enabled=True, actor=operator, reason=" ")


def test_edit_based_on_a_stale_revision__is_refused(flag, state_of, operator, release_manager):
    seen = state_of(flag, "development").revision
    services.set_enabled(state=state_of(flag, "development"), enabled=True, actor=operator, reason="first",
                         expected_revision=seen)
    with pytest.raises(services.StaleRevision, match="changed since you loaded it"):
        services.set_enabled(state=state_of(flag, "development"), enabled=False, actor=release_manager,
                             reason="second", expected_revision=seen)
    assert state_of(flag, "development").enabled is True


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_edits__never_lose_an_update(make_flag, state_of, operator, release_manager):
    flag = make_flag("race")
    seen = state_of(flag, "development").revision
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(who, rollout):
        try:
            barrier.wait()
            services.set_strategies(state=state_of(flag, "development"), actor=who, reason=f"{rollout}%",
                                    strategies=[{"name": "flexibleRollout", "parameters": {"rollout": rollout}}],
                                    expected_revision=seen)
            outcomes[who.username] = "applied"
        except services.StaleRevision:
            outcomes[who.username] = "stale"
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(operator, "10")), threading.Thread(target=edit,
                                                                                     args=(release_manager, "90"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["applied", "stale"]
    winner = next(name for name, result in outcomes.items() if result == "applied")
    state = state_of(flag, "development")
    assert state.history.latest().history_user.username == winner
    assert state.strategies[0]["parameters"]["rollout"] == ("10" if winner == "olga" else "90")


@pytest.mark.parametrize(("strategies", "message"), [
    ([{"name": "flexibleRolout", "parameters": {"rollout": "10"}}], "unknown strategy 'flexibleRolout'"),
    ([{"name": "flexibleRollout", "parameters": {"rollout": "150"}}], "rollout must be a number from 0 to 100"),
    ([{"name": "default", "constraints": [{"contextName": "userId", "operator": "LIKE", "values": ["1"]}]}],
     "unknown constraint operator 'LIKE'"),
    ([{"name": "default", "segments": [999999]}], "Unknown segment id"),
    ("not a list", "JSON list of objects"),
    ([{"name": "default", "variants": [{"name": "a", "weight": 2000}]}], "weight must be 0..1000"),
])
def test_bad_strategies__are_refused_with_a_clear_message(flag, state_of, operator, strategies, message):
    state = state_of(flag, "development")
    with pytest.raises(ValidationError, match=message):
        services.set_strategies(state=state, strategies=strategies, actor=operator, reason="edit")
    assert state_of(flag, "development").revision == state.revision


def test_strategies_the_evaluator_rejects__are_refused(flag, state_of, operator):
    # Known names and operators, but "values" must be a list: the evaluator's compiler refuses it.
    with pytest.raises(ValidationError, match="malformed"):
        services.set_strategies(state=state_of(flag, "development"), actor=operator, reason="edit", strategies=[
            {"name": "default", "constraints": [{"contextName": "userId", "operator": "IN", "values": 5}]}])


def test_invalid_regex__is_refused(flag, state_of, operator):
    with pytest.raises(ValidationError, match="not a valid"):
        services.set_strategies(state=state_of(flag, "development"), actor=operator, reason="edit", strategies=[
            {"name": "default", "constraints": [{"contextName": "email", "operator": "REGEX", "value": "("}]}])


def test_valid_strategies_with_a_segment__apply(flag, state_of, operator, system_user):
    segment = services.save_segment(segment=Segment(name="beta testers", constraints=[
        {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]}]),
        actor=system_user, reason="beta")
    outcome = services.set_strategies(state=state_of(flag, "development"), actor=operator, reason="beta only",
                                      strategies=[{"name": "default", "segments": [segment.pk]}])
    assert outcome.applied and outcome.state.strategies[0]["segments"] == [segment.pk]


def test_segment_change__bumps_the_states_that_use_it(flag, state_of, operator, system_user):
    segment = services.save_segment(segment=Segment(name="beta", constraints=[]), actor=system_user, reason="beta")
    services.set_strategies(state=state_of(flag, "development"), actor=operator, reason="beta",
                            strategies=[{"name": "default", "segments": [segment.pk]}])
    before = state_of(flag, "development").revision
    segment.constraints = [{"contextName": "userId", "operator": "IN", "values": ["1"]}]
    services.save_segment(segment=segment, actor=operator, reason="narrow beta")
    assert state_of(flag, "development").revision > before


def test_dependency_on_a_missing_flag__is_refused(flag, state_of, operator):
    with pytest.raises(ValidationError, match="No active flag 'ghost'"):
        services.set_strategies(state=state_of(flag, "development"), strategies=[], actor=operator, reason="dep",
                                dependencies=[{"feature": "ghost"}])


def test_archive__refused_while_another_flag_depends_on_it(flag, make_flag, state_of, operator):
    child = make_flag("checkout-upsell")
    services.set_strategies(state=state_of(child, "development"), strategies=[], actor=operator, reason="dep",
                            dependencies=[{"feature": "new-checkout", "enabled": True}])
    with pytest.raises(ValidationError, match="depend on new-checkout"):
        services.archive_flag(flag=flag, actor=operator, reason="done")


def test_archive__records_actor_and_reason(flag, operator):
    services.archive_flag(flag=flag, actor=operator, reason="Q3 cleanup")
    record = flag.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "Q3 cleanup")
    assert FlagState.objects.filter(flag=flag).count() == 3
    with pytest.raises(ValidationError, match="archived"):
        services.set_enabled(state=FlagState.objects.filter(flag=flag)[0], enabled=True, actor=operator,
                             reason="again")


def test_duplicate_key__is_refused(flag, make_flag):
    with pytest.raises(ValidationError, match="already has a flag 'new-checkout'"):
        make_flag("new-checkout")


def test_key_with_a_slash__is_refused(make_flag):
    with pytest.raises(ValidationError, match="slashes"):
        make_flag("a/b")
