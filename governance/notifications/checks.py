"""System checks of the notification settings: the deprecated per-app webhook settings (shown at every start of
manage.py commands that run checks: runserver, migrate, check; and logged once by the worker/web start-up)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core import checks

logger = logging.getLogger(__name__)

DEPRECATED = {
    "DR_ALERT_WEBHOOK_URL": ("governance.W101", "DR alerts"),
    "RELEASES_ALERT_WEBHOOK_URL": ("governance.W102", "stuck-promotion alerts"),
}


def deprecated_settings(**_: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for name, (check_id, what) in DEPRECATED.items():
        if getattr(settings, name, ""):
            found.append(checks.Warning(
                f"{name} is deprecated: it still receives the {what} as an implicit signed-webhook channel.",
                hint="Declare a NotificationChannel (admin: Observability → Notification channels) with the "
                     "severities to route, then unset the variable (docs/SLOs.md § Alert routing).",
                id=check_id))
    return found


def warn_at_start() -> None:
    for message in deprecated_settings():
        logger.warning("%s (%s) %s", message.msg, message.id, message.hint)
