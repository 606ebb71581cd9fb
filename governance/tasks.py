"""django-q2 entry points of the core app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from governance import services


def heartbeat() -> str:
    """Scheduled every minute; /readyz reports the scheduler stale when this stops."""
    beat = services.record_heartbeat("scheduler")
    return beat.beat_at.isoformat()


def purge_idempotency_records() -> int:
    return services.delete_idempotency_records(older_than=timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS))
