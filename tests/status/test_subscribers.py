"""Email subscribers end to end through a real SMTP server on 127.0.0.1 (aiosmtpd): double opt-in,
per-component subscriptions, one-click unsubscribe, nothing sent for private or draft incidents."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from status import services
from status.models import Component, Subscriber


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def inbox(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.PORTAL_URL = "https://status.example.test"
    try:
        yield handler
    finally:
        controller.stop()


def _link(message: Message, kind: str) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    found = re.search(rf"https://status\.example\.test(/status/subscriptions/\S+/{kind})", body)
    assert found, body
    return found.group(1)


def _subscribe(email: str, *components: Component) -> None:
    response = Client().post("/status/subscribe", {"email": email, "component": [c.pk for c in components]})
    assert response.status_code == 200, response.content


def test_subscribe_confirm_notify_unsubscribe__through_a_real_smtp_server(
        service, api_component, web_component, operator, inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _subscribe("ann@example.test")
    assert len(inbox.to("ann@example.test")) == 1 and "Confirm" in inbox.messages[0]["Subject"]
    with django_capture_on_commit_callbacks(execute=True):  # not confirmed yet: nothing sent
        services.open_incident(service=service, name="Early", body="x", actor=operator, reason="r")
    assert len(inbox.to("ann@example.test")) == 1

    assert Client().get(_link(inbox.messages[0], "confirm")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(service=service, name="Checkout errors", body="We are looking into it.",
                               components=[api_component], actor=operator, reason="r")
    update = inbox.to("ann@example.test")[-1]
    assert update["Subject"].endswith("Checkout errors: Investigating")
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    leave = _link(update, "unsubscribe")
    assert Client().get(leave).status_code == 200 and Subscriber.objects.get().unsubscribed_at is None
    assert Client().post(leave).status_code == 200  # RFC 8058 one-click POST
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(service=service, name="Later", body="x", actor=operator, reason="r")
    assert [m["Subject"] for m in inbox.to("ann@example.test")][-1].endswith("Checkout errors: Investigating")


def test_component_subscription__only_that_components_incidents(
        service, api_component, web_component, operator, inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _subscribe("web@example.test", web_component)
    Client().get(_link(inbox.messages[0], "confirm"))

    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(service=service, name="API down", body="x", components=[api_component],
                               actor=operator, reason="r")
        services.open_incident(service=service, name="Web slow", body="x", components=[web_component],
                               actor=operator, reason="r")
        services.open_incident(service=service, name="Web private", body="x", components=[web_component],
                               public=False, actor=operator, reason="r")
        draft = services.open_incident(service=service, name="Web draft", body="x", components=[web_component],
                                       publish=False, actor=operator, reason="r")

    subjects = [m["Subject"] for m in inbox.to("web@example.test")[1:]]
    assert subjects == ["[Service status] Web slow: Investigating"]
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_incident(incident=draft, actor=operator, reason="checked")
    assert [m["Subject"] for m in inbox.to("web@example.test")][-1] == "[Service status] Web draft: Investigating"


@pytest.mark.parametrize("token", ["nope", "x" * 300, "1:abc:def"])
def test_forged_or_broken_link__404_and_nothing_changes(service, token, db):
    assert Client().get(f"/status/subscriptions/{token}/confirm").status_code == 404
    assert Client().post(f"/status/subscriptions/{token}/unsubscribe").status_code == 404


def test_bad_email__400_and_no_row(db):
    assert Client().post("/status/subscribe", {"email": "not-an-address"}).status_code == 400
    assert not Subscriber.objects.exists()
