"""Retention policy for backups: keep N daily and M monthly, as a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from recovery.engine.evidence import parse_iso


class Dated(Protocol):
    @property
    def created_at(self) -> str | datetime: ...


B = TypeVar("B", bound=Dated)


def _moment(backup: Dated) -> datetime:
    value = backup.created_at
    moment = parse_iso(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(f"backup created_at {value!r} has no time zone")
    return moment.astimezone(UTC)


def apply_retention(backups: Sequence[B], keep_daily: int, keep_monthly: int, now: datetime) -> list[B]:
    """Backups to delete, oldest first.

    Kept: the newest backup of each of the `keep_daily` most recent UTC days that have a backup, and
    of each of the `keep_monthly` most recent months that have one. Days without a backup do not use
    up a slot, so a week of failed nightly runs never deletes the older good backups. The newest
    backup is always kept, and so is any dated after `now` (clock skew: nothing to reason about).
    """
    if keep_daily < 0 or keep_monthly < 0:
        raise ValueError("keep_daily and keep_monthly must be >= 0")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)

    dated = [(i, _moment(b)) for i, b in enumerate(backups)]
    past = [(i, m) for i, m in dated if m <= now]
    # Ties on the timestamp are broken by position, so the result does not depend on dict/set order.
    past.sort(key=lambda im: (im[1], im[0]), reverse=True)

    keep: set[int] = set()
    if past:
        keep.add(past[0][0])
    days: set[object] = set()
    months: set[object] = set()
    for i, moment in past:
        day = moment.date()
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep.add(i)
        month = (moment.year, moment.month)
        if month not in months and len(months) < keep_monthly:
            months.add(month)
            keep.add(i)

    doomed = [(m, i) for i, m in past if i not in keep]
    doomed.sort()
    return [backups[i] for _, i in doomed]
