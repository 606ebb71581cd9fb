"""Occurrences of a recurring freeze: a 5-field cron start read on a local clock, a duration, UTC windows.

No Django here (STYLE.md §1): the model validates with `check`, the service materialises with `windows`.

Local time is what people mean ("Friday 16:00 to Monday 08:00 Europe/Paris"), so both ends are read on the
rule's clock:

- the cron expression is matched against local wall-clock times;
- a start that does not exist (skipped by a spring-forward change) is moved forward by the gap (02:30 in Paris on
  the last Sunday of March starts at 03:30 CEST); a start that happens twice (autumn) starts at the first one;
  two local times that land on the same instant give one window;
- the end is the local start plus the duration on the local clock, so the Friday 16:00 + 64 h window ends
  Monday 08:00 local on a DST weekend too (63 or 65 real hours).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, croniter

MAX_DURATION = timedelta(days=14)
# At most one start an hour keeps a rule's windows per horizon bounded (336 in 14 days).
MIN_GAP = timedelta(hours=1)
# How far ahead `check` looks for overlapping or too frequent occurrences: a year holds both DST changes.
CHECK_SPAN = timedelta(days=366)
# Zone names that are files in the database but not places.
_NOT_PLACES = {"localtime", "posixrules", "Factory"}


class RecurrenceError(ValueError):
    """A rule that cannot produce windows; `field` names the model field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Schedule:
    cron: str
    zone: str
    duration: timedelta


@dataclass(frozen=True)
class Window:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_PLACES)


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (e.g. Europe/Paris, UTC); RecurrenceError otherwise."""
    if name not in _zone_names():
        raise RecurrenceError("time_zone", f"'{name}' is not an IANA time zone; use a name such as Europe/Paris, "
                                           "America/New_York or UTC")
    return ZoneInfo(name)


def check_cron(expression: str) -> str:
    """The expression with single spaces if it is a valid 5-field cron expression; RecurrenceError otherwise."""
    fields = expression.split()
    if len(fields) != 5 or expression.strip().startswith("@"):
        raise RecurrenceError("cron", f"'{expression}' is not a 5-field cron expression (minute hour day-of-month "
                                      "month day-of-week, e.g. '0 16 * * 5' for Fridays at 16:00)")
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise RecurrenceError("cron", f"'{normalised}' is not a valid cron expression (minute 0-59, hour 0-23, "
                                      "day of month 1-31, month 1-12, day of week 0-6 with 0 = Sunday)")
    return normalised


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    # fold=0: a repeated wall time is its first occurrence; a skipped one is read with the offset in force
    # before the change, which moves it forward by the gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def windows(schedule: Schedule, *, since: datetime, until: datetime) -> Iterator[Window]:
    """The windows in progress at `since` or starting before `until`, in order (aware datetimes in, UTC out)."""
    tz = zone(schedule.zone)
    cron = check_cron(schedule.cron)
    # Start early enough to find an occurrence still in progress at `since`; a day more covers any offset change.
    walls = croniter(cron, _wall(since - schedule.duration - timedelta(days=1), tz))
    last: datetime | None = None
    while True:
        try:
            wall = walls.get_next(datetime)
        except CroniterBadDateError:  # no further match (e.g. 30 February)
            return
        start = _instant(wall, tz)
        if start >= until:
            return
        if last is not None and start <= last:
            continue  # a skipped local time moved onto (or before) the next real one: one window only
        last = start
        end = _instant(_wall(start, tz) + schedule.duration, tz)
        if end > since:
            yield Window(start, end)


def check(schedule: Schedule, *, now: datetime) -> None:
    """Refuse a rule that is malformed, never starts, starts more than once an hour or overlaps itself."""
    zone(schedule.zone)
    check_cron(schedule.cron)
    if not timedelta(minutes=1) <= schedule.duration <= MAX_DURATION:
        raise RecurrenceError("duration_minutes", "the duration must be between 1 minute and 14 days "
                                                  f"({int(MAX_DURATION.total_seconds() // 60)} minutes)")
    previous: Window | None = None
    for window in windows(schedule, since=now, until=now + CHECK_SPAN + MAX_DURATION):
        if previous is not None:
            if window.starts_at - previous.starts_at < MIN_GAP:
                raise RecurrenceError("cron", f"'{schedule.cron}' starts more than once an hour "
                                              f"({_show(previous.starts_at, schedule.zone)} then "
                                              f"{_show(window.starts_at, schedule.zone)}); a recurring freeze may "
                                              "start at most once an hour")
            if previous.ends_at >= window.starts_at:
                raise RecurrenceError("duration_minutes", (
                    f"occurrences would overlap: the one starting {_show(previous.starts_at, schedule.zone)} lasts "
                    f"until {_show(previous.ends_at, schedule.zone)}, but the next starts "
                    f"{_show(window.starts_at, schedule.zone)}; shorten the duration so that each freeze lifts "
                    "before the next begins (a freeze that never lifts is a one-off freeze window)"))
        if window.starts_at >= now + CHECK_SPAN:
            return
        previous = window
    if previous is None:
        raise RecurrenceError("cron", f"'{schedule.cron}' does not occur in the next year")


def _show(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(ZoneInfo(zone_name)).strftime("%a %Y-%m-%d %H:%M %Z")


def describe(window: Window, zone_name: str) -> str:
    """'Fri 2025-03-28 16:00 CET → Mon 2025-03-31 08:00 CEST (15:00 → 06:00 UTC)'."""
    utc = f"{window.starts_at:%a %H:%M} → {window.ends_at:%a %H:%M} UTC"
    if zone_name == "UTC":
        return f"{window.starts_at:%a %Y-%m-%d %H:%M} → {window.ends_at:%a %Y-%m-%d %H:%M} UTC"
    return f"{_show(window.starts_at, zone_name)} → {_show(window.ends_at, zone_name)} ({utc})"
