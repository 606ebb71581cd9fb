"""Alerts about the portal itself (a stuck worker), sent to the portal-wide notification channels.

The same channels and router as SLO alerts (NotificationChannel rows with no service, `notify.Router`). The
channel list is read while the database is up and handed back to `send`, so an alert still goes out while
PostgreSQL is down.
"""

from __future__ import annotations

import logging

from observability import notify
from observability.models import NotificationChannel

logger = logging.getLogger(__name__)
SOURCE = "governance-portal/worker"


def portal_channels(service_id: int | None = None) -> list[notify.ChannelConfig]:
    """The usable configs of the enabled channels that take every service's alerts (reads the database);
    with `service_id`, also the channels of that service (the status app's incident reminders)."""
    from django.db.models import Q

    from observability.services import _channel_config

    configs = []
    scope = Q(service__isnull=True) | Q(service_id=service_id) if service_id is not None else Q(service__isnull=True)
    for channel in NotificationChannel.objects.filter(scope, enabled=True).order_by("name"):
        config, problem = _channel_config(channel)
        if config is None:
            logger.warning("notification channel %s unusable for portal alerts: %s", channel.name, problem)
        else:
            configs.append(config)
    return configs


def send(message: notify.Message, channels: list[notify.ChannelConfig]) -> list[notify.DeliveryResult]:
    """Deliver to the channels routed for the message's severity; logged, and never raises."""
    logger.warning("portal alert: %s: %s", message.title, message.text)
    usable = [c for c in channels if c.accepts(message.severity)]
    if not usable:
        logger.warning("portal alert not delivered (no enabled portal-wide channel takes %s): %s",
                       message.severity.value, message.title)
        return []
    try:
        with notify.Router(usable, max_attempts=3, backoff_base=0.5, backoff_max=4.0) as router:
            results = router.send(message)
    except Exception:  # noqa: BLE001 - an alert must never stop the supervisor that raised it
        logger.exception("portal alert delivery crashed: %s", message.title)
        return []
    for result in results:
        if not result.delivered:
            logger.error("portal alert not delivered to %s after %s attempt(s): %s (%s)", result.channel,
                         result.attempts, message.title, result.error)
    return results
