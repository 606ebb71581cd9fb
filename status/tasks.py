"""django-q2 entry points of the status app (thin: they call services)."""

from __future__ import annotations

from status import services


def remind_overdue_incidents() -> int:
    return len(services.remind_overdue())


def advance_maintenance() -> str:
    """Every minute: start and complete the maintenances that asked for it (auto_transition)."""
    from django.utils import timezone

    from governance.services import system_user
    from status.services import maintenance

    return ", ".join(maintenance.advance_due(now=timezone.now(), actor=system_user())) or "nothing due"


def email_subscribers(update_id: int) -> int:
    from status import subscribers

    return subscribers.email_update(update_id)


def deliver_webhooks(update_id: int) -> dict[str, int | None]:
    from status import webhooks

    return webhooks.deliver(update_id)


def route_update(update_id: int) -> str:
    from status import reminders

    deliveries = reminders.route_update(update_id)
    return ", ".join(f"{d.channel_name}: {'ok' if d.delivered else d.error}" for d in deliveries) or "no channels"


def roll_up_uptime() -> int:
    """Nightly: the finished days of the uptime bars, kept past the SLI retention."""
    from status import uptime

    return uptime.roll_up()
