"""Incidents and maintenance: states, updates, audit, and the reminder when a promised update is missed."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from observability import services as slo_services
from observability.models import NotificationChannel
from status import services, tasks
from status.models import Incident, IncidentUpdate
from tests.observability.test_notifications import SECRET


def test_open_incident__first_update_affected_components_and_audit(service, api_component, operator):
    incident = services.open_incident(service=service, name="Checkout errors", body="We are looking into it.",
                                      impact="major", components=[api_component], component_status="partial_outage",
                                      commander=operator, next_update_by=timezone.now() + timedelta(minutes=30),
                                      actor=operator, reason="page from api-success")

    update = incident.updates.get()
    api_component.refresh_from_db()
    assert (incident.status, update.status, api_component.status) == ("investigating", "investigating",
                                                                      "partial_outage")
    assert update.affected_components == [{"code": str(api_component.pk), "name": "API",
                                           "old_status": "operational", "new_status": "partial_outage"}]
    assert incident.history.latest().history_change_reason == "page from api-success"
    assert update.history.latest().history_user == operator


def test_incident__walks_identified_monitoring_resolved_postmortem(service, operator):
    incident = services.open_incident(service=service, name="Slow search", body="Investigating.", actor=operator,
                                      reason="r")
    for status in ("identified", "monitoring", "resolved", "postmortem"):
        services.post_update(incident=incident, status=status, body=f"Now {status}.", actor=operator, reason="r")

    incident.refresh_from_db()
    assert incident.status == "postmortem" and incident.monitoring_at and incident.resolved_at
    assert list(incident.updates.order_by("id").values_list("status", flat=True)) == [
        "investigating", "identified", "monitoring", "resolved", "postmortem"]


def test_update_to_a_state_the_flow_forbids__refused_and_nothing_written(service, operator):
    incident = services.open_incident(service=service, name="Slow search", body="Investigating.", actor=operator,
                                      reason="r")
    services.post_update(incident=incident, status="resolved", body="Fixed.", actor=operator, reason="r")

    with pytest.raises(ValidationError, match="resolved: it can move to postmortem, not investigating"):
        services.post_update(incident=incident, status="investigating", body="Again?", actor=operator, reason="r")
    assert IncidentUpdate.objects.filter(incident=incident).count() == 2


def test_next_update_in_the_past__refused(service, operator):
    with pytest.raises(ValidationError, match="future"):
        services.open_incident(service=service, name="x", body="y", actor=operator, reason="r",
                               next_update_by=timezone.now() - timedelta(minutes=1))
    assert not Incident.objects.exists()


def test_component_of_another_service__refused_without_a_trace(service, other_service, system_user, operator):
    from status.models import Component

    foreign = services.save_component(component=Component(service=other_service, name="Billing API"),
                                      actor=system_user, reason="fixture")
    with pytest.raises(ValidationError, match="another service"):
        services.open_incident(service=service, name="x", body="y", components=[foreign], actor=operator,
                               reason="r")


def test_maintenance__in_progress_puts_components_under_maintenance_and_completed_restores(
        service, api_component, web_component, operator):
    start = timezone.now() + timedelta(hours=1)
    window = services.schedule_maintenance(service=service, name="Database upgrade", body="PostgreSQL 17.",
                                           scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                                           components=[api_component], actor=operator, reason="planned")

    services.post_update(incident=window, status="in_progress", body="Started.", actor=operator, reason="r")
    api_component.refresh_from_db()
    web_component.refresh_from_db()
    assert (api_component.status, web_component.status) == ("under_maintenance", "operational")
    services.post_update(incident=window, status="verifying", body="Checking.", actor=operator, reason="r")
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="r")
    api_component.refresh_from_db()
    assert api_component.status == "operational"
    with pytest.raises(ValidationError, match="not investigating"):
        services.post_update(incident=window, status="investigating", body="?", actor=operator, reason="r")


@pytest.fixture
def incident_channel(webhook_receiver, system_user, monkeypatch, service):
    monkeypatch.setenv("STATUS_HOOK_SECRET", SECRET)
    return slo_services.save_channel(
        channel=NotificationChannel(name="shop on-call", kind="webhook", url=f"{webhook_receiver.url}/hook",
                                    secret_env="STATUS_HOOK_SECRET", severities=["warning"], service=service),
        actor=system_user, reason="route shop warnings to on-call")


def test_missed_next_update__commander_reminded_once_through_the_channel_and_by_email(
        service, operator, incident_channel, webhook_receiver, mailoutbox, django_capture_on_commit_callbacks):
    operator.email = "olga@example.test"
    operator.save()
    incident = services.open_incident(service=service, name="Checkout errors", body="Looking.", commander=operator,
                                      next_update_by=timezone.now() + timedelta(minutes=10), actor=operator,
                                      reason="r")
    later = timezone.now() + timedelta(minutes=11)
    incident.refresh_from_db()
    assert not incident.is_stale() and incident.is_stale(later)

    with django_capture_on_commit_callbacks(execute=True):
        reminded = services.remind_overdue(now=later)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.remind_overdue(now=later + timedelta(minutes=5))

    assert [i.pk for i in reminded] == [incident.pk] and again == []
    bodies = [json.loads(r["body"]) for r in webhook_receiver.requests]
    assert len(bodies) == 1 and webhook_receiver.requests[0]["signature_ok"]
    assert bodies[0]["title"] == "Incident update overdue: Checkout errors"
    assert bodies[0]["fields"]["Commander"] == operator.username
    assert [m.to for m in mailoutbox] == [["olga@example.test"]]
    incident.refresh_from_db()
    assert incident.reminded_at is not None
    assert incident.history.latest().history_change_reason.startswith("next update overdue")


def test_new_update_after_a_reminder__clears_it_and_the_next_miss_reminds_again(service, operator):
    incident = services.open_incident(service=service, name="x", body="y", commander=operator, actor=operator,
                                      reason="r", next_update_by=timezone.now() + timedelta(minutes=1))
    sent: list[int] = []
    services.remind_overdue(now=timezone.now() + timedelta(minutes=2), send=sent.append)
    services.post_update(incident=incident, status="identified", body="Found it.", actor=operator, reason="r",
                         next_update_by=timezone.now() + timedelta(minutes=30))

    incident.refresh_from_db()
    assert incident.reminded_at is None and not incident.is_stale()
    assert tasks.remind_overdue_incidents() == 0


def test_resolved_incident__never_stale(service, operator):
    incident = services.open_incident(service=service, name="x", body="y", actor=operator, reason="r",
                                      next_update_by=timezone.now() + timedelta(minutes=1))
    services.post_update(incident=incident, status="resolved", body="Fixed.", actor=operator, reason="r")

    incident.refresh_from_db()
    assert incident.next_update_by is None and not incident.is_stale(timezone.now() + timedelta(days=1))
