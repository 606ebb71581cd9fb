"""Emergency toggle expiry: the one place that decides what a toggle serves at a given time (pure, no I/O).

An emergency toggle (a kill switch engaged with an expiry, maintenance mode) stores what it set
(`enabled`, `number`), when it ends (`expires_at`) and what it restores (`revert_to`). From the
moment `expires_at` passes, every read serves the restored values, whether or not the revert has
been recorded yet: reads never write. The `flags.tasks.revert_expired` job (through
`services.revert_expired`) records the revert in the database and the audit trail, which bumps
the revision and so announces it on the push plane like any other change.

This module also owns the limits: a toggle lasts at most `MAX_DURATION` (30 days), and maintenance
mode ends after `DEFAULT_MAINTENANCE` (30 minutes) unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

MAX_DURATION = timedelta(days=30)
DEFAULT_MAINTENANCE = timedelta(minutes=30)
REVERTIBLE = ("enabled", "number")  # what a toggle sets and an expiry restores


class ExpiryError(ValueError):
    """A requested duration outside (0, MAX_DURATION]."""


class Toggle(Protocol):
    enabled: bool
    number: float | None
    expires_at: datetime | None
    revert_to: Any


def expires_at(duration: timedelta | None, *, now: datetime) -> datetime | None:
    """When a toggle engaged at `now` for `duration` ends (None: it does not)."""
    if duration is None:
        return None
    check_duration(duration)
    return now + duration


def check_duration(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise ExpiryError("The expiry must be in the future.")
    if duration > MAX_DURATION:
        raise ExpiryError(f"Emergency toggles expire within {MAX_DURATION.days} days.")
    return duration


def restored(revert_to: Any) -> dict[str, Any]:
    """The fields an expiry restores (anything else in `revert_to` is ignored)."""
    if not isinstance(revert_to, Mapping):
        return {}
    return {k: v for k, v in revert_to.items() if k in REVERTIBLE}


def is_due(expiry: datetime | None, revert_to: Any, *, now: datetime) -> bool:
    """Whether a toggle has ended at `now` (and has something to restore)."""
    return expiry is not None and expiry <= now and bool(restored(revert_to))


def effective(toggle: Toggle, *, now: datetime) -> dict[str, Any]:
    """`enabled`, `number` and `expires_at` as served at `now`: the restored values once the toggle has ended."""
    values = {"enabled": toggle.enabled, "number": toggle.number, "expires_at": toggle.expires_at}
    if is_due(toggle.expires_at, toggle.revert_to, now=now):
        values.update(restored(toggle.revert_to), expires_at=None)
    return values


def pending(toggle: Toggle, *, now: datetime) -> bool:
    """A toggle that has not ended yet: its expiry is still to come."""
    return toggle.expires_at is not None and toggle.expires_at > now and bool(restored(toggle.revert_to))
