"""Webhook subscribers: each published update POSTed as Statuspage's webhook body, signed like the portal's
notification webhooks (`governance.notifications.notify.sign`: X-Governance-Signature = sha256 HMAC of the raw body).

Body: {"meta": {"unsubscribe": null, "documentation": …}, "page": {"id", "status_indicator",
"status_description"}, "incident": <the incident as /api/v2/incidents.json shows it>}. Retries transport
errors, 429 and 5xx (3 attempts); a failure is logged and never stops the other deliveries.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable

import httpx
from django.db.models import Q

from governance.notifications import notify
from status import public
from status.models import IncidentUpdate, WebhookSubscriber

logger = logging.getLogger(__name__)
ATTEMPTS = 3


def body_for(update: IncidentUpdate) -> bytes:
    incident = update.incident
    status = public.status()
    document = {"meta": {"unsubscribe": None, "documentation": "docs/STATUS.md#webhook-subscribers"},
                "page": {"id": public.PAGE_ID, "status_indicator": status["indicator"],
                         "status_description": status["description"]},
                "incident": public.incident_doc(incident, public.PAGE_ID)}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def targets(update: IncidentUpdate) -> list[WebhookSubscriber]:
    component_ids = list(update.incident.components.filter(public=True).values_list("pk", flat=True))
    return list(WebhookSubscriber.objects.filter(enabled=True).filter(
        Q(components__isnull=True) | Q(components__in=component_ids)).distinct().order_by("name"))


def deliver(update_id: int, *, client: httpx.Client | None = None,
            sleep: Callable[[float], None] = time.sleep) -> dict[str, int | None]:
    """POST the update to every matching webhook; returns {subscriber name: last HTTP status or None}."""
    update = IncidentUpdate.objects.select_related("incident").get(pk=update_id)
    if not (update.incident.public and update.incident.published):
        return {}
    body = body_for(update)
    outcome: dict[str, int | None] = {}
    own = client is None
    http = client or httpx.Client(timeout=5.0, headers={"User-Agent": notify.USER_AGENT})
    try:
        for subscriber in targets(update):
            secret = os.environ.get(subscriber.secret_env)
            if not secret:
                logger.error("webhook subscriber %s: %s is not set", subscriber.name, subscriber.secret_env)
                outcome[subscriber.name] = None
                continue
            outcome[subscriber.name] = _post(http, subscriber, body, secret, sleep)
    finally:
        if own:
            http.close()
    return outcome


def _post(http: httpx.Client, subscriber: WebhookSubscriber, body: bytes, secret: str,
          sleep: Callable[[float], None]) -> int | None:
    status: int | None = None
    for attempt in range(1, ATTEMPTS + 1):
        headers = {"Content-Type": "application/json", notify.SIGNATURE_HEADER: notify.sign(secret, body),
                   notify.TIMESTAMP_HEADER: str(int(time.time()))}
        try:
            response = http.post(subscriber.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            status = None
            logger.warning("webhook subscriber %s attempt %s: %s", subscriber.name, attempt, exc)
        else:
            status = response.status_code
            if response.is_success or (status < 500 and status != 429):
                return status
        if attempt < ATTEMPTS:
            sleep(0.5 * 2 ** (attempt - 1))
    logger.error("webhook subscriber %s: not delivered after %s attempts (last %s)", subscriber.name, ATTEMPTS,
                 status)
    return status
