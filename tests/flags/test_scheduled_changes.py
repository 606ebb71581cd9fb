"""Scheduled changes apply at their time, and fail loudly when the flag changed since they were planned."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from flags import services, tasks
from flags.models import ScheduledChange


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


def test_due_change__applies_with_its_author_and_reason(flag, state_of, operator):
    change = services.schedule_change(state=state_of(flag, "development"), operation="set_enabled",
                                      payload={"enabled": True}, run_at=timezone.now() + timedelta(minutes=5),
                                      actor=operator, reason="launch at 9")
    assert services.apply_due_scheduled_changes(now=timezone.now()) == []
    [done] = services.apply_due_scheduled_changes(now=timezone.now() + timedelta(minutes=6))
    assert done.status == ScheduledChange.Status.APPLIED
    state = state_of(flag, "development")
    assert state.enabled
    record = state.history.latest()
    assert record.history_user == operator
    assert record.history_change_reason == f"scheduled change #{change.pk}: launch at 9"


def test_flag_changed_since_planned__fails_loudly(flag, state_of, operator, release_manager, caplog):
    change = services.schedule_change(state=state_of(flag, "development"), operation="set_enabled",
                                      payload={"enabled": True}, run_at=timezone.now() + timedelta(minutes=5),
                                      actor=operator, reason="launch at 9")
    services.set_strategies(state=state_of(flag, "development"), actor=release_manager, reason="meanwhile",
                            strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "5"}}])
    with caplog.at_level(logging.ERROR, logger="flags"):
        services.apply_due_scheduled_changes(now=timezone.now() + timedelta(minutes=6))
    change.refresh_from_db()
    assert change.status == ScheduledChange.Status.FAILED
    assert "the flag changed since the change was planned" in change.message
    assert any("FAILED" in r.getMessage() and str(change.pk) in r.getMessage() for r in caplog.records)
    assert state_of(flag, "development").enabled is False


def test_widening_in_production__waits_for_approval_and_fails_without_it(flag, state_of, operator, release_manager):
    run_at = timezone.now() + timedelta(minutes=5)
    unapproved = services.schedule_change(state=state_of(flag, "production"), operation="set_enabled",
                                          payload={"enabled": True}, run_at=run_at, actor=operator, reason="launch")
    assert unapproved.status == ScheduledChange.Status.AWAITING_APPROVAL
    with pytest.raises(ValidationError, match="cannot approve it"):
        services.approve_scheduled_change(change=unapproved, actor=operator, reason="self")
    services.apply_due_scheduled_changes(now=run_at + timedelta(seconds=1))
    unapproved.refresh_from_db()
    assert unapproved.status == "failed" and "approved" in unapproved.message


def test_approved_widening__applies(flag, state_of, operator, release_manager):
    run_at = timezone.now() + timedelta(minutes=5)
    change = services.schedule_change(state=state_of(flag, "production"), operation="set_enabled",
                                      payload={"enabled": True}, run_at=run_at, actor=operator, reason="launch")
    services.approve_scheduled_change(change=change, actor=release_manager, reason="go")
    services.apply_due_scheduled_changes(now=run_at + timedelta(seconds=1))
    assert state_of(flag, "production").enabled is True


def test_job_entry_point__runs_due_changes(flag, state_of, operator):
    change = services.schedule_change(state=state_of(flag, "development"), operation="set_enabled",
                                      payload={"enabled": True}, run_at=timezone.now() + timedelta(seconds=1),
                                      actor=operator, reason="soon")
    import time

    time.sleep(1.1)
    assert tasks.apply_scheduled_changes() == 1
    change.refresh_from_db()
    assert change.status == "applied"


def test_schedule_in_the_past__is_refused(flag, state_of, operator):
    with pytest.raises(ValidationError, match="future"):
        services.schedule_change(state=state_of(flag, "development"), operation="set_enabled",
                                 payload={"enabled": True}, run_at=timezone.now(), actor=operator, reason="x")


@pytest.mark.parametrize("payload", ["[true]", '"on"', "5"])
def test_admin_plan_with_a_payload_that_is_no_object__is_refused_without_a_500(client, operator, flag, state_of,
                                                                             payload):
    client.force_login(operator)
    run_at = timezone.now() + timedelta(hours=1)
    response = client.post(reverse("admin:flags_scheduledchange_add"), {
        "state": state_of(flag, "development").pk, "operation": "set_enabled", "payload": payload,
        "run_at_0": run_at.strftime("%Y-%m-%d"), "run_at_1": run_at.strftime("%H:%M:%S"), "reason": "tonight"},
        follow=True)
    assert response.status_code == 200 and "Not saved" in response.content.decode()
    assert not ScheduledChange.objects.exists()
