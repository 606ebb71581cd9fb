"""django-q2 entry points of the status app (thin: they call services)."""

from __future__ import annotations

from status import services


def remind_overdue_incidents() -> int:
    return len(services.remind_overdue())


def email_subscribers(update_id: int) -> int:
    from status import subscribers

    return subscribers.email_update(update_id)


def deliver_webhooks(update_id: int) -> dict[str, int | None]:
    from status import webhooks

    return webhooks.deliver(update_id)
