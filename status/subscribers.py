"""Email subscribers: double opt-in, one-click unsubscribe (RFC 8058), per-component subscriptions.

Emails go through Django's email backend (SMTP in production). Confirmation and unsubscribe links carry a token
signed with SECRET_KEY (`django.core.signing`, one salt per purpose; confirmation links expire after 7 days), so
no secret is stored. Notifications go out after commit, through the task queue, for published public incidents.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from status.models import Component, Incident, IncidentUpdate, Subscriber

logger = logging.getLogger(__name__)
CONFIRM_SALT, UNSUBSCRIBE_SALT = "status.subscribers.confirm", "status.subscribers.unsubscribe"
CONFIRM_MAX_AGE = 7 * 24 * 3600


def _link(path: str) -> str:
    return f"{settings.PORTAL_URL.rstrip('/')}/status/{path}"


def confirm_url(subscriber: Subscriber) -> str:
    return _link(f"subscriptions/{signing.dumps(subscriber.pk, salt=CONFIRM_SALT)}/confirm")


def unsubscribe_url(subscriber: Subscriber) -> str:
    return _link(f"subscriptions/{signing.dumps(subscriber.pk, salt=UNSUBSCRIBE_SALT)}/unsubscribe")


@transaction.atomic
def subscribe(*, email: str, components: Iterable[Component] = ()) -> Subscriber:
    """Start (or restart) a subscription and send the confirmation email; nothing else is sent before it."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Give a valid email address."}) from None
    chosen = [c for c in components if c.public]
    subscriber = Subscriber.objects.select_for_update().filter(email=email, unsubscribed_at__isnull=True).first()
    if subscriber is None:
        subscriber = Subscriber.objects.create(email=email)
    subscriber.components.set(chosen)
    body = (f"Someone (hopefully you) asked for status updates at {email}.\n\n"
            f"Confirm: {confirm_url(subscriber)}\n\n"
            "If it was not you, ignore this email: nothing will be sent.")
    message = EmailMessage(f"Confirm your subscription to {settings.STATUS_PAGE_NAME}", body, to=[email])
    transaction.on_commit(message.send)
    return subscriber


def _load(token: str, salt: str, max_age: int | None = None) -> Subscriber | None:
    try:
        pk = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int):
        return None
    return Subscriber.objects.select_for_update().filter(pk=pk, unsubscribed_at__isnull=True).first()


@transaction.atomic
def confirm(*, token: str) -> Subscriber | None:
    subscriber = _load(token, CONFIRM_SALT, CONFIRM_MAX_AGE)
    if subscriber is not None and subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


@transaction.atomic
def unsubscribe(*, token: str) -> Subscriber | None:
    subscriber = _load(token, UNSUBSCRIBE_SALT)
    if subscriber is not None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
    return subscriber


def recipients(incident: Incident) -> list[Subscriber]:
    """Confirmed subscribers of every component, or of one of the incident's public components."""
    component_ids = list(incident.components.filter(public=True).values_list("pk", flat=True))
    return list(Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True).filter(
        Q(components__isnull=True) | Q(components__in=component_ids)).distinct().order_by("email"))


def queue_notification(update: IncidentUpdate) -> None:
    """After commit, email the update to its subscribers and POST it to the webhook subscribers (public,
    published incidents only)."""
    from django_q.tasks import async_task

    incident = update.incident
    if incident.published:  # the team's channels hear of every published update, public or not
        routed_id = update.pk
        transaction.on_commit(lambda: async_task("status.tasks.route_update", routed_id))
    if incident.public and incident.published:
        update_id = update.pk
        transaction.on_commit(lambda: async_task("status.tasks.email_subscribers", update_id))
        transaction.on_commit(lambda: async_task("status.tasks.deliver_webhooks", update_id))


def email_update(update_id: int) -> int:
    """Send one update to each recipient with its one-click unsubscribe link; returns how many were sent."""
    update = IncidentUpdate.objects.select_related("incident").get(pk=update_id)
    incident = update.incident
    sent = 0
    with get_connection() as connection:
        for subscriber in recipients(incident):
            leave = unsubscribe_url(subscriber)
            body = f"{incident.name} — {update.get_status_display()}\n\n{update.body}\n\n{_link('')}\n\nUnsubscribe: {leave}"
            message = EmailMessage(f"[{settings.STATUS_PAGE_NAME}] {incident.name}: {update.get_status_display()}",
                                   body, to=[subscriber.email], connection=connection,
                                   headers={"List-Unsubscribe": f"<{leave}>",
                                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
            try:
                message.send()
                sent += 1
            except OSError:
                logger.exception("status update email to subscriber %s failed", subscriber.pk)
    return sent
