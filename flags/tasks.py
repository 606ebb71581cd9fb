"""django-q2 entry points of flags (every minute, the purge daily; all are idempotent)."""

from __future__ import annotations

from flags import breakglass, services


def revert_expired() -> int:
    """Records the revert of emergency toggles past their expiry (reads already serve them reverted)."""
    return len(services.revert_expired())


def apply_scheduled_changes() -> int:
    """Due scheduled changes; one whose flag changed since it was planned is marked failed and logged."""
    return len(services.apply_due_scheduled_changes())


def replay_break_glass() -> int:
    """Break-glass overrides written while the database was down go into the database and the audit trail."""
    return len(breakglass.replay())


def purge_sdk_instances() -> int:
    """SDK instances silent for FLAGS_INSTANCE_RETENTION_DAYS leave the instance list."""
    return services.purge_sdk_instances()
