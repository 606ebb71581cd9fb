"""django-q2 entry points of the core app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from governance import audit_exports, services


def heartbeat() -> str:
    """Scheduled every minute; /readyz reports the scheduler stale when this stops."""
    beat = services.record_heartbeat("scheduler")
    return beat.beat_at.isoformat()


def purge_idempotency_records() -> int:
    return services.delete_idempotency_records(older_than=timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS))


def record_audit_checkpoint() -> str:
    """Scheduled every hour: sign the chain head of the whole audit trail (docs/AUDIT.md)."""
    checkpoint = audit_exports.record_audit_checkpoint(actor=services.system_user(),
                                                       reason="scheduled audit checkpoint")
    return f"{checkpoint.record_count} records up to {checkpoint.covers_until.isoformat()}" if checkpoint else "none due"
