"""The one alert routing path: severities routed to channels by configuration (NotificationChannel rows),
PagerDuty's Events API v2 and Slack faked with httpx.MockTransport on their documented shapes, DR/releases/
incident alerts through the same path, the deprecated settings as implicit channels (real servers on 127.0.0.1).
"""

import json

import httpx
import pytest
from django.core import checks
from django.test import override_settings

from governance.notifications import notify, pagerduty, routing
from observability import services
from observability.models import NotificationChannel, NotificationDelivery
from tests.observability.test_notifications import SECRET

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"  # 32 characters, as PagerDuty's integration keys


class FakeSaaS:
    """PagerDuty's Events API v2 and Slack incoming webhooks, answering as their documentation shows."""

    def __init__(self, *, pagerduty_answers: list[int] | None = None) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.pagerduty_answers = list(pagerduty_answers or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((f"{request.url.host}{request.url.path}", body))
        if request.url.host == "events.pagerduty.com":
            assert request.url.path == "/v2/enqueue" and request.headers["content-type"] == "application/json"
            status = self.pagerduty_answers.pop(0) if self.pagerduty_answers else 202
            if status == 202:
                problems = _pagerduty_problems(body)
                if problems:
                    return httpx.Response(400, json={"status": "invalid event", "message": "Event object is invalid",
                                                     "errors": problems})
                return httpx.Response(202, json={"status": "success", "message": "Event processed",
                                                 "dedup_key": body["dedup_key"]})
            if status == 429:
                return httpx.Response(429, json={"status": "throttle exceeded"})
            return httpx.Response(status, json={"status": "invalid event", "message": "Event object is invalid",
                                                "errors": ["'routing_key' is invalid"]})
        assert request.url.host == "hooks.slack.com"
        assert body["text"] and body["blocks"][0]["type"] == "header"
        return httpx.Response(200, text="ok")

    def to(self, where: str) -> list[dict]:
        return [body for destination, body in self.requests if destination.startswith(where)]


def _pagerduty_problems(body: dict) -> list[str]:
    """The documented required fields of an Events API v2 event."""
    problems = []
    if len(body.get("routing_key", "")) != 32:
        problems.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        problems.append("'event_action' is invalid")
    if body.get("event_action") == "trigger":
        payload = body.get("payload") or {}
        for name in ("summary", "source", "severity"):
            if not payload.get(name):
                problems.append(f"'payload.{name}' is missing or blank")
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            problems.append("'payload.severity' is invalid")
        if len(payload.get("summary", "")) > 1024:
            problems.append("'payload.summary' is too long")
    elif not body.get("dedup_key"):
        problems.append("'dedup_key' is required to resolve")
    return problems


@pytest.fixture
def routes(system_user, monkeypatch):
    """The product's routing table, as configuration: critical → PagerDuty + Slack #alerts, warning → Slack #devops,
    info → Slack #releases."""
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    rows = [
        NotificationChannel(name="pagerduty", kind="pagerduty", url=pagerduty.EVENTS_URL,
                            secret_env="PAGERDUTY_ROUTING_KEY", severities=["critical"]),
        NotificationChannel(name="slack #alerts", kind="slack", url="https://hooks.slack.com/services/T0/B1/alerts",
                            severities=["critical"]),
        NotificationChannel(name="slack #devops", kind="slack", url="https://hooks.slack.com/services/T0/B2/devops",
                            severities=["warning"]),
        NotificationChannel(name="slack #releases", kind="slack",
                            url="https://hooks.slack.com/services/T0/B3/releases", severities=["info"]),
    ]
    for row in rows:
        services.save_channel(channel=row, actor=system_user, reason="the routing table of docs/SLOs.md")
    return rows


def _message(severity: str, **extra) -> notify.Message:
    return notify.Message(severity=notify.Severity(severity), title=f"a {severity} thing", text="what happened",
                          fields={"Service": "shop"}, source="governance-portal/test", **extra)


@pytest.mark.parametrize(("severity", "expected"), [
    ("critical", {"pagerduty", "slack #alerts"}),
    ("warning", {"slack #devops"}),
    ("info", {"slack #releases"}),
])
def test_severity__reaches_exactly_the_channels_the_routing_table_names(routes, severity, expected):
    saas = FakeSaaS()
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        deliveries = routing.send_alert(_message(severity), client=client)

    assert {d.channel_name for d in deliveries} == expected and all(d.delivered for d in deliveries)
    recorded = NotificationDelivery.objects.filter(source="governance-portal/test")
    assert {r.channel_name for r in recorded} == expected
    assert all(r.alert is None and r.severity == severity and r.title == f"a {severity} thing" for r in recorded)


def test_pagerduty__trigger_then_resolve_with_the_same_dedup_key(routes):
    saas = FakeSaaS()
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        routing.send_alert(_message("critical", dedup_key="dr:drill:7"), client=client)
        routing.send_alert(_message("critical", dedup_key="dr:drill:7", resolve=True), client=client)

    trigger, resolve = saas.to("events.pagerduty.com")
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == ROUTING_KEY
    assert trigger["dedup_key"] == resolve["dedup_key"] == "dr:drill:7"
    assert trigger["payload"] == {"summary": "a critical thing", "source": "governance-portal/test",
                                  "severity": "critical",
                                  "custom_details": {"Service": "shop", "text": "what happened"}}
    assert resolve == {"routing_key": ROUTING_KEY, "dedup_key": "dr:drill:7", "event_action": "resolve"}
    assert list(NotificationDelivery.objects.filter(channel_name="pagerduty").values_list("event", flat=True)) \
        == ["resolved", "opened"]


def test_pagerduty__throttled_is_retried_and_an_invalid_event_is_recorded_not_retried(routes, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    saas = FakeSaaS(pagerduty_answers=[429, 202])
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        [page, _] = routing.send_alert(_message("critical"), client=client)
    assert page.delivered and page.attempts == 2 and page.status_code == 202

    saas = FakeSaaS(pagerduty_answers=[400])
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        [page, slack] = routing.send_alert(_message("critical"), client=client)
    assert not page.delivered and page.attempts == 1 and page.status_code == 400
    assert "invalid event" in page.error and slack.delivered
    assert NotificationDelivery.objects.filter(channel_name="pagerduty", delivered=False).count() == 1


def test_pagerduty_channel_without_its_key__recorded_as_unusable(routes, monkeypatch):
    monkeypatch.delenv("PAGERDUTY_ROUTING_KEY")
    saas = FakeSaaS()
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        deliveries = routing.send_alert(_message("critical"), client=client)
    failed = next(d for d in deliveries if d.channel_name == "pagerduty")
    assert not failed.delivered and "PAGERDUTY_ROUTING_KEY" in failed.error and saas.to("events.pagerduty.com") == []


def test_dr_alert__goes_through_the_channels_to_a_real_signed_webhook(webhook_receiver, system_user, monkeypatch):
    from recovery import alerts

    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    services.save_channel(channel=NotificationChannel(name="ops hook", kind="webhook", url=f"{webhook_receiver.url}/signed",
                                                      secret_env="OPS_HOOK_SECRET", severities=["critical"]),
                          actor=system_user, reason="pages to the ops hook")
    alerts.send(notify.Message(severity=notify.Severity.CRITICAL, title="DR drill #7 FAILED: shop", text="wal gap",
                               source=alerts.SOURCE, dedup_key="dr:drill:7"))

    [request] = webhook_receiver.requests
    assert request["signature_ok"] and json.loads(request["body"])["title"] == "DR drill #7 FAILED: shop"
    [recorded] = NotificationDelivery.objects.all()
    assert recorded.delivered and recorded.source == "governance-portal/recovery" and recorded.channel_name == "ops hook"


def test_deprecated_dr_setting__implicit_channel_takes_only_dr_alerts_and_warns(webhook_receiver, db):
    with override_settings(DR_ALERT_WEBHOOK_URL=f"{webhook_receiver.url}/signed", DR_ALERT_WEBHOOK_SECRET=SECRET):
        routing.send_alert(_message("critical"))  # not a DR alert: not for the DR webhook
        routing.send_alert(notify.Message(severity=notify.Severity.WARNING, title="DR drill missed its schedule",
                                          text="t", source=routing.DR_SOURCE))
        warnings = [m.id for m in checks.run_checks(tags=["notifications"])]
    [request] = webhook_receiver.requests
    assert request["signature_ok"] and json.loads(request["body"])["title"] == "DR drill missed its schedule"
    assert warnings == ["governance.W101"]
    assert checks.run_checks(tags=["notifications"]) == []  # unset: no warning


def test_incident_update__routed_by_impact_and_the_resolution_resolves(service, system_user, routes,
                                                                       django_capture_on_commit_callbacks):
    from status import reminders
    from status import services as status_services

    saas = FakeSaaS()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident = status_services.open_incident(service=service, name="Checkout down", body="Investigating.",
                                                 impact="critical", actor=system_user, reason="page")
    assert callbacks  # queued for the worker after commit
    [opened] = incident.updates.all()
    resolved = status_services.post_update(incident=incident, status="resolved", body="Fixed.", actor=system_user,
                                           reason="fixed")
    with httpx.Client(transport=httpx.MockTransport(saas)) as client:
        for update in (opened, resolved):
            routing.send_alert(reminders.update_message(update), service_id=service.pk, client=client)

    trigger, resolve = saas.to("events.pagerduty.com")
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == f"incident:{incident.pk}"
    assert "Checkout down" in saas.to("hooks.slack.com/services/T0/B1/alerts")[0]["text"]
