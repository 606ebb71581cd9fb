"""End to end: a burn → the checker → an alert → a signed webhook received by a real server on 127.0.0.1."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from observability import services, slo_math
from observability.models import NotificationChannel, NotificationDelivery, SloAlert
from tests.observability.conftest import steady
from tests.observability.test_notifications import SECRET


def _burning(end):
    points = steady(end, 7 * 24 * 60, total=100)
    for m in range(1, 71):
        minute = end - timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=20)
    return points


@pytest.fixture
def channel(webhook_receiver, system_user, monkeypatch):
    monkeypatch.setenv("SLO_HOOK_SECRET", SECRET)
    return services.save_channel(
        channel=NotificationChannel(name="ops hook", kind="webhook", url=f"{webhook_receiver.url}/signed",
                                    secret_env="SLO_HOOK_SECRET", severities=["critical"]),
        actor=system_user, reason="route pages to ops")


def test_burn__checker_opens_alert_and_the_webhook_receives_it_signed(
        service, production, write_points, now, webhook_receiver, channel, django_capture_on_commit_callbacks):
    write_points(service, production, _burning(slo_math.window_end(now)))

    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=now)

    pages = SloAlert.objects.filter(severity="critical", resolved_at__isnull=True)
    assert pages.exists()
    bodies = [json.loads(r["body"]) for r in webhook_receiver.requests]
    assert len(bodies) == pages.count()  # only critical is routed to this channel; one message per alert
    assert all(r["signature_ok"] for r in webhook_receiver.requests)
    first = next(b for b in bodies if "api-success" in b["title"] and "1h / 5m" in b["fields"]["Windows"])
    assert first["severity"] == "critical" and first["title"].startswith("shop/production: api-success")
    assert "13.44x" in first["text"]
    deliveries = NotificationDelivery.objects.filter(event="opened")
    assert deliveries.count() == pages.count() and all(d.delivered and d.status_code == 200 for d in deliveries)


def test_burn_stops__the_resolution_is_sent_too(service, production, write_points, now, webhook_receiver, channel,
                                                django_capture_on_commit_callbacks):
    write_points(service, production, _burning(slo_math.window_end(now)))
    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=now)
    opened = len(webhook_receiver.requests)
    later = now + timedelta(minutes=10)
    write_points(service, production, steady(slo_math.window_end(later), 10, total=100))

    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=later)

    resolved = [json.loads(r["body"]) for r in webhook_receiver.requests[opened:]]
    assert resolved and all(b["title"].startswith("RESOLVED: ") for b in resolved)


def test_missing_secret_variable__delivery_is_recorded_as_failed(service, production, write_points, now, webhook_receiver,
                                                                 channel, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    monkeypatch.delenv("SLO_HOOK_SECRET")
    write_points(service, production, _burning(slo_math.window_end(now)))

    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=now)

    assert webhook_receiver.requests == []
    failed = NotificationDelivery.objects.filter(delivered=False).first()
    assert failed is not None and "SLO_HOOK_SECRET" in failed.error


def test_channel_for_another_service__is_not_used(service, other_service, production, write_points, now, webhook_receiver,
                                                  system_user, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    services.save_channel(channel=NotificationChannel(name="billing only", kind="slack", url=webhook_receiver.url,
                                                      severities=["critical", "warning"], service=other_service),
                          actor=system_user, reason="billing's own channel")
    write_points(service, production, _burning(slo_math.window_end(now)))
    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=now)
    assert webhook_receiver.requests == []


def test_slack_channel__gets_warnings_as_slack_payloads(service, production, write_points, now, webhook_receiver,
                                                       system_user, django_capture_on_commit_callbacks):
    services.save_channel(channel=NotificationChannel(name="tickets", kind="slack", url=f"{webhook_receiver.url}/slack",
                                                      severities=["warning"]),
                          actor=system_user, reason="tickets to slack")
    write_points(service, production, _burning(slo_math.window_end(now)))
    with django_capture_on_commit_callbacks(execute=True):
        services.run_slo_check(kind="hourly", now=now)
    bodies = [json.loads(r["body"]) for r in webhook_receiver.requests]
    assert bodies and all(b["text"].startswith("[WARNING]") and b["blocks"] for b in bodies)
    assert len(bodies) == SloAlert.objects.filter(severity="warning").count()


def test_webhook_without_secret_variable__is_refused(system_user):
    with pytest.raises(ValidationError) as exc:
        services.save_channel(channel=NotificationChannel(name="x", kind="webhook", url="https://example.com/h",
                                                          severities=["critical"]),
                              actor=system_user, reason="test")
    assert "secret_env" in exc.value.message_dict


def test_channel_changes__are_audited_with_actor_and_reason(system_user, operator):
    channel = services.save_channel(channel=NotificationChannel(name="x", kind="slack", url="https://example.com/s",
                                                                severities=["critical"]),
                                    actor=system_user, reason="add slack")
    channel.severities = ["critical", "warning"]
    services.save_channel(channel=channel, actor=operator, reason="tickets too", update_fields=["severities"])
    record = channel.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "tickets too")
