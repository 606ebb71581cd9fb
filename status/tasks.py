"""django-q2 entry points of the status app (thin: they call services)."""

from __future__ import annotations

from status import services


def remind_overdue_incidents() -> int:
    return len(services.remind_overdue())
