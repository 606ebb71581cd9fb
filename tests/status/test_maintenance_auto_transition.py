"""Maintenance that starts and completes by itself (`auto_transition`): the every-minute task posts the standard
updates at the window's start and end, with everything a person's update does (maintenance mode, freezes,
components); without the option nothing moves, and a person's step is never undone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from governance.services import system_user
from status import services, tasks
from status.services import maintenance
from tests.status.test_maintenance_links import _maintenance_mode


def _schedule(service, actor, start, *, auto=True, **options):
    return services.schedule_maintenance(service=service, name="Queue failover", body="Failover of the queue.",
                                         scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                                         auto_transition=auto, actor=actor, reason="planned (CHG-7)", **options)


def test_window_start_and_end__posted_by_the_system_with_maintenance_mode(service, preview, operator,
                                                                          api_component):
    start = timezone.now() + timedelta(minutes=1)
    window = _schedule(service, operator, start, components=[api_component], maintenance_mode_environment=preview)

    assert maintenance.advance_due(now=start - timedelta(seconds=1), actor=system_user()) == []  # not yet
    assert maintenance.advance_due(now=start, actor=system_user()) == [f"#{window.pk} Queue failover: in_progress"]
    window.refresh_from_db()
    started = window.updates.order_by("-created_at", "-pk").first()
    assert window.status == "in_progress" and started.body == maintenance.AUTO_STARTED
    assert started.history.latest().history_user == system_user()
    assert _maintenance_mode(service, preview)
    api_component.refresh_from_db()
    assert api_component.status == "under_maintenance"

    assert maintenance.advance_due(now=start + timedelta(minutes=30), actor=system_user()) == []  # mid-window
    done = maintenance.advance_due(now=window.scheduled_until, actor=system_user())
    window.refresh_from_db()
    assert done == [f"#{window.pk} Queue failover: completed"] and window.status == "completed"
    assert not _maintenance_mode(service, preview)
    api_component.refresh_from_db()
    assert api_component.status == "operational"
    assert [u.status for u in window.updates.order_by("created_at", "pk")] == ["scheduled", "in_progress",
                                                                              "completed"]


def test_task_late_past_the_whole_window__goes_straight_to_completed(service, operator):
    window = _schedule(service, operator, timezone.now() + timedelta(minutes=5))
    # the worker was down through the whole window: the first run after it comes back
    maintenance.advance_due(now=window.scheduled_until + timedelta(hours=2), actor=system_user())

    window.refresh_from_db()
    assert window.status == "completed"
    assert [u.status for u in window.updates.order_by("created_at", "pk")] == ["scheduled", "completed"]


def test_without_the_option__nothing_moves(service, operator):
    start = timezone.now() - timedelta(minutes=5)
    window = _schedule(service, operator, start, auto=False)
    assert maintenance.advance_due(now=timezone.now() + timedelta(hours=2), actor=system_user()) == []
    window.refresh_from_db()
    assert window.status == "scheduled"


def test_a_person_ahead_of_the_clock__is_not_undone(service, operator):
    start = timezone.now() + timedelta(minutes=10)
    window = _schedule(service, operator, start)
    services.post_update(incident=window, status="completed", body="Cancelled: not needed.", actor=operator,
                         reason="cancelled")
    assert maintenance.advance_due(now=start, actor=system_user()) == []
    window.refresh_from_db()
    assert window.status == "completed" and window.updates.count() == 2


def test_scheduled_every_minute_through_the_task(service, operator):
    from django.core.management import call_command

    call_command("ensure_schedules", verbosity=0)
    entry = Schedule.objects.get(func="status.tasks.advance_maintenance")
    assert entry.schedule_type == "I" and entry.minutes == 1
    _schedule(service, operator, timezone.now() - timedelta(minutes=1))
    assert tasks.advance_maintenance().endswith("Queue failover: in_progress")
