"""Webhook subscribers: each published update reaches a real HTTP server on 127.0.0.1, signed, in Statuspage's
webhook shape; private incidents, drafts and other components' incidents send nothing."""

import json

import pytest

from status import services, webhooks
from status.models import WebhookSubscriber
from tests.observability.test_notifications import SECRET
from tests.status.test_public_api import INCIDENT


@pytest.fixture
def hook(webhook_receiver, system_user, monkeypatch, web_component):
    monkeypatch.setenv("STATUS_WEBHOOK_SECRET", SECRET)
    subscriber = services.save_webhook_subscriber(
        subscriber=WebhookSubscriber(name="partner", url=f"{webhook_receiver.url}/status",
                                     secret_env="STATUS_WEBHOOK_SECRET"), actor=system_user, reason="partner asked")
    services.set_webhook_components(subscriber=subscriber, components=[web_component], actor=system_user)
    return subscriber


def test_update_of_a_followed_component__posted_signed_in_statuspages_shape(
        service, web_component, api_component, operator, hook, webhook_receiver,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(service=service, name="API down", body="x", components=[api_component],
                               actor=operator, reason="r")
        services.open_incident(service=service, name="Web private", body="x", components=[web_component],
                               public=False, actor=operator, reason="r")
        services.open_incident(service=service, name="Web draft", body="x", components=[web_component],
                               publish=False, actor=operator, reason="r")
        services.open_incident(service=service, name="Web slow", body="Looking.", components=[web_component],
                               impact="minor", actor=operator, reason="r")

    assert len(webhook_receiver.requests) == 1 and webhook_receiver.requests[0]["signature_ok"]
    body = json.loads(webhook_receiver.requests[0]["body"])
    assert set(body) == {"meta", "page", "incident"}
    assert body["page"]["status_indicator"] == "minor" and set(body["incident"]) == INCIDENT
    assert body["incident"]["name"] == "Web slow" and body["incident"]["incident_updates"][0]["body"] == "Looking."


def test_receiver_failing_twice__third_attempt_delivers(service, web_component, operator, hook, webhook_receiver):
    webhook_receiver.fail_first = 2
    incident = services.open_incident(service=service, name="Web slow", body="x", components=[web_component],
                                      actor=operator, reason="r")

    outcome = webhooks.deliver(incident.updates.get().pk, sleep=lambda _: None)

    assert outcome == {"partner": 200} and len(webhook_receiver.requests) == 3


def test_missing_secret__not_sent_and_reported(service, web_component, operator, hook, webhook_receiver,
                                               monkeypatch):
    monkeypatch.delenv("STATUS_WEBHOOK_SECRET")
    incident = services.open_incident(service=service, name="Web slow", body="x", components=[web_component],
                                      actor=operator, reason="r")

    assert webhooks.deliver(incident.updates.get().pk) == {"partner": None} and webhook_receiver.requests == []
