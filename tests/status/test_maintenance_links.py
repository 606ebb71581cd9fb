"""Scheduled maintenance freezes promotions and engages maintenance mode (hooks to releases and flags)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from flags import services as flag_services
from flags import snapshots
from flags.models import ChangeRequest
from governance import services as core
from governance.models import AuditEvent, Environment
from releases import gates
from releases import services as release_services
from releases.models import FreezeWindow
from status import services


def _freeze_input(release, environment):
    return {i.name: i for i in gates.evaluate(release, environment).inputs}["freeze-window"]


def _schedule(service, actor, *, start, hours=2, **options):
    return services.schedule_maintenance(service=service, name="Database upgrade", body="PostgreSQL 17.",
                                         scheduled_for=start, scheduled_until=start + timedelta(hours=hours),
                                         actor=actor, reason="planned upgrade (CHG-42)", **options)


def _maintenance_mode(service, environment) -> bool:
    body = snapshots.build(service, environment)["body"]  # what the SDKs are served
    return {f["name"]: f["enabled"] for f in body["features"]}["maintenance_mode"]


def test_scheduling__freezes_production_by_default_and_the_gate_refuses_a_promotion(
        service, release, production, operator, release_manager):
    window = _schedule(service, operator, start=timezone.now() - timedelta(minutes=1))
    [freeze] = FreezeWindow.objects.filter(maintenance_id=window.pk)
    assert (freeze.environment, freeze.service, freeze.starts_at, freeze.ends_at) == (
        production, service, window.scheduled_for, window.scheduled_until)
    assert freeze.title == "Maintenance: Database upgrade" and "CHG-42" in freeze.maintenance_reason
    record = freeze.history.latest()
    assert record.history_user == operator and record.history_change_reason.startswith("planned upgrade (CHG-42)")
    event = AuditEvent.objects.filter(model="releases.freezewindow", object_id=str(freeze.pk)).first()
    assert event is not None and event.actor == operator and "CHG-42" in event.reason

    freeze_input = _freeze_input(release, production)
    assert (freeze_input.verdict, freeze_input.code) == ("block", "frozen")
    assert "Database upgrade" in freeze_input.message
    with pytest.raises(ValidationError, match="frozen until"):
        release_services.start_promotion(release=release, environment=production, actor=release_manager,
                                         reason="ship it")


def test_no_freeze_when_none_is_asked(service, release, production, operator):
    _schedule(service, operator, start=timezone.now() - timedelta(minutes=1), freeze_environments=[])
    assert not FreezeWindow.objects.exists()
    assert _freeze_input(release, production).verdict == "allow"


def test_reschedule__moves_the_freeze(service, production, operator):
    start = timezone.now() + timedelta(days=1)
    window = _schedule(service, operator, start=start)
    later = start + timedelta(days=2)
    services.reschedule_maintenance(incident=window, scheduled_for=later, scheduled_until=later + timedelta(hours=3),
                                    actor=operator, reason="vendor asked for Saturday")
    [freeze] = FreezeWindow.objects.filter(maintenance_id=window.pk)
    assert (freeze.starts_at, freeze.ends_at) == (later, later + timedelta(hours=3))
    assert "vendor asked for Saturday" in freeze.history.latest().history_change_reason
    window.refresh_from_db()
    assert window.started_at == later


def test_cancel_before_start__removes_the_freeze(service, operator):
    window = _schedule(service, operator, start=timezone.now() + timedelta(days=1))
    services.post_update(incident=window, status="completed", body="Cancelled.", actor=operator,
                         reason="not needed after all")
    assert not FreezeWindow.objects.filter(maintenance_id=window.pk).exists()
    deleted = FreezeWindow.history.filter(maintenance_id=window.pk, history_type="-").get()
    assert deleted.history_user == operator and "not needed after all" in deleted.history_change_reason


def test_complete_early__ends_the_freeze_at_completion(service, release, production, operator):
    window = _schedule(service, operator, start=timezone.now() - timedelta(minutes=5))
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    before = timezone.now()
    services.post_update(incident=window, status="completed", body="Done early.", actor=operator, reason="done")
    [freeze] = FreezeWindow.objects.filter(maintenance_id=window.pk)
    assert before <= freeze.ends_at <= timezone.now()
    assert _freeze_input(release, production).verdict == "allow"


def test_in_progress_engages_maintenance_mode_and_completion_releases_it(service, preview, operator):
    window = _schedule(service, operator, start=timezone.now() + timedelta(minutes=5),
                       maintenance_mode_environment=preview)
    assert not _maintenance_mode(service, preview)
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    assert _maintenance_mode(service, preview)
    state = flag_services.state_for(service=service, environment=preview, key="maintenance_mode")
    assert state.expires_at >= window.scheduled_until  # the window's end is its backstop
    record = state.history.latest()
    assert record.history_user == operator and "maintenance #" in record.history_change_reason
    assert "Database upgrade" in record.history_change_reason
    event = AuditEvent.objects.filter(model="flags.flagstate", object_id=str(state.pk)).order_by("-at", "-pk").first()
    assert event is not None and event.actor == operator and "in progress" in event.reason

    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="all good")
    assert not _maintenance_mode(service, preview)
    released = flag_services.state_for(service=service, environment=preview, key="maintenance_mode")
    assert "completed" in released.history.latest().history_change_reason


def test_hand_engaged_maintenance_mode__stays_after_completion(service, preview, operator, make_user):
    oncall = make_user("hank")
    flag_services.enter_maintenance(service=service, environment=preview, actor=oncall, reason="by hand",
                                    expires_in=timedelta(hours=4))
    window = _schedule(service, operator, start=timezone.now(), maintenance_mode_environment=preview)
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    window.refresh_from_db()
    assert window.maintenance_mode_revision is None  # it found maintenance mode on: not its own
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="done")
    assert _maintenance_mode(service, preview)


def test_changed_by_hand_while_in_progress__stays(service, preview, operator):
    window = _schedule(service, operator, start=timezone.now(), maintenance_mode_environment=preview)
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    flag_services.enter_maintenance(service=service, environment=preview, actor=operator,
                                    reason="extend: the migration overruns", expires_in=timedelta(hours=6))
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="done")
    assert _maintenance_mode(service, preview)


def test_production_release__becomes_a_change_request(service, production, operator):
    window = _schedule(service, operator, start=timezone.now(), maintenance_mode_environment=production)
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    assert _maintenance_mode(service, production)
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="done")
    # Switching maintenance mode off widens exposure: in production a second person approves, as for anyone.
    assert _maintenance_mode(service, production)
    request = ChangeRequest.objects.get(state__flag__key="maintenance_mode", state__environment=production)
    assert request.status == "pending" and request.author == operator


def test_no_maintenance_mode_flag__is_refused_when_scheduling(service, operator, system_user):
    staging = core.save_audited(instance=Environment(slug="staging", name="Staging", order=25),
                                actor=system_user, reason="test: an environment without flags")
    with pytest.raises(ValidationError) as refused:
        _schedule(service, operator, start=timezone.now() + timedelta(days=1),
                  maintenance_mode_environment=staging)
    assert "no maintenance_mode flag in staging" in str(refused.value.message_dict["maintenance_mode_environment"])
    assert not FreezeWindow.objects.exists()


def test_running_late__rescheduling_the_end_moves_maintenance_mode_with_it(service, preview, operator):
    window = _schedule(service, operator, start=timezone.now(), hours=1, maintenance_mode_environment=preview)
    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="go")
    later = window.scheduled_until + timedelta(hours=2)

    services.reschedule_maintenance(incident=window, scheduled_for=window.scheduled_for, scheduled_until=later,
                                    actor=operator, reason="the migration overruns")

    state = flag_services.state_for(service=service, environment=preview, key="maintenance_mode")
    assert state.expires_at >= later
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="done")
    assert not _maintenance_mode(service, preview)  # still this maintenance's: released at completion


def test_moving_a_window_into_the_past__refused(service, operator):
    window = _schedule(service, operator, start=timezone.now() + timedelta(days=7))
    past = timezone.now() - timedelta(hours=2)
    with pytest.raises(ValidationError, match="into the past"):
        services.reschedule_maintenance(incident=window, scheduled_for=past, scheduled_until=past + timedelta(hours=1),
                                        actor=operator, reason="hide this morning's outage")


def test_maintenance_mode_longer_than_the_toggle_limit__refused_when_scheduling(service, preview, operator):
    with pytest.raises(ValidationError, match="at most 30 days"):
        _schedule(service, operator, start=timezone.now() + timedelta(days=1), hours=31 * 24,
                  maintenance_mode_environment=preview)
