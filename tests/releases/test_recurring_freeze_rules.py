"""A recurring freeze's rule: what is refused (and why), and the UTC windows it makes across DST changes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from releases import services
from releases.models import FreezeWindow, RecurringFreeze

PARIS = ZoneInfo("Europe/Paris")


def _utc(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _windows(rule):
    return [(w.starts_at, w.ends_at) for w in FreezeWindow.objects.filter(recurrence=rule).order_by("starts_at")]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"cron": "0 16 * * FRIDAY"}, "cron", "not a valid cron expression"),
    ({"cron": "0 25 * * *"}, "cron", "not a valid cron expression"),
    ({"cron": "0 16 * * 5 2030"}, "cron", "not a 5-field cron expression"),
    ({"cron": "@weekly"}, "cron", "not a 5-field cron expression"),
    ({"cron": "0 0 31 2 *"}, "cron", "does not occur in the next year"),
    ({"cron": "*/30 * * * *", "duration_minutes": 10}, "cron", "at most once an hour"),
    ({"time_zone": "Europe/Pariss"}, "time_zone", "'Europe/Pariss' is not an IANA time zone"),
    ({"time_zone": "localtime"}, "time_zone", "is not an IANA time zone"),
    ({"duration_minutes": 0}, "duration_minutes", "greater than or equal to 1"),
    ({"duration_minutes": 14 * 1440 + 1}, "duration_minutes", "less than or equal to 20160"),
    # Daily for 24 h: each freeze would last until the next begins, i.e. it would never lift.
    ({"cron": "0 22 * * *", "duration_minutes": 1440}, "duration_minutes", "occurrences would overlap"),
    ({"cron": "0 16 * * 5", "duration_minutes": 8 * 1440}, "duration_minutes", "occurrences would overlap"),
])
def test_invalid_rule__is_refused_with_a_clear_message_and_nothing_saved(recurring_freeze, fields, field, message):
    with pytest.raises(ValidationError) as caught:
        recurring_freeze(**{"cron": "0 16 * * 5", "duration_minutes": 3840, **fields})
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not RecurringFreeze.objects.exists() and not FreezeWindow.objects.exists()


def test_rule__needs_a_reason(recurring_freeze):
    with pytest.raises(ValidationError, match="reason is required"):
        recurring_freeze(reason=" ")
    assert not RecurringFreeze.objects.exists()


def test_cron__is_stored_with_single_spaces(recurring_freeze):
    rule, _ = recurring_freeze(cron=" 0  16 * *   5 ")
    rule.refresh_from_db()
    assert rule.cron == "0 16 * * 5"


def test_weekly_rule_across_spring_forward__ends_at_local_monday_08_00(recurring_freeze):
    # Friday 16:00 to Monday 08:00 Paris time; DST starts Sunday 30 March 2025.
    rule, result = recurring_freeze("0 16 * * 5", 3840, time_zone="Europe/Paris", now=_utc(2025, 3, 20, 12))
    assert len(result.created) == 2  # 14 days ahead: 21 and 28 March
    services.materialise_recurring_freezes(now=_utc(2025, 3, 20, 12), horizon=timedelta(days=28))
    assert _windows(rule) == [
        (_utc(2025, 3, 21, 15), _utc(2025, 3, 24, 7)),  # CET → CET
        (_utc(2025, 3, 28, 15), _utc(2025, 3, 31, 6)),  # CET → CEST: 63 real hours
        (_utc(2025, 4, 4, 14), _utc(2025, 4, 7, 6)),  # CEST → CEST
        (_utc(2025, 4, 11, 14), _utc(2025, 4, 14, 6)),
    ]
    for start, end in _windows(rule):
        assert (start.astimezone(PARIS).strftime("%a %H:%M"), end.astimezone(PARIS).strftime("%a %H:%M")) == (
            "Fri 16:00", "Mon 08:00")


def test_weekly_rule_across_fall_back__ends_at_local_monday_08_00(recurring_freeze):
    rule, _ = recurring_freeze("0 16 * * 5", 3840, time_zone="Europe/Paris", now=_utc(2025, 10, 20, 12))
    assert _windows(rule) == [
        (_utc(2025, 10, 24, 14), _utc(2025, 10, 27, 7)),  # CEST → CET: 65 real hours
        (_utc(2025, 10, 31, 15), _utc(2025, 11, 3, 7)),
    ]


def test_start_in_the_skipped_hour__makes_one_window_moved_forward(recurring_freeze):
    # 02:30 does not exist in Paris on 30 March 2025 (02:00 CET → 03:00 CEST).
    rule, _ = recurring_freeze("30 2 * * *", 60, time_zone="Europe/Paris", now=_utc(2025, 3, 29))
    days = {start.date(): (start, end) for start, end in _windows(rule)}
    assert days[datetime(2025, 3, 29).date()] == (_utc(2025, 3, 29, 1, 30), _utc(2025, 3, 29, 2, 30))
    assert days[datetime(2025, 3, 30).date()] == (_utc(2025, 3, 30, 1, 30), _utc(2025, 3, 30, 2, 30))  # 03:30 CEST
    assert days[datetime(2025, 3, 31).date()] == (_utc(2025, 3, 31, 0, 30), _utc(2025, 3, 31, 1, 30))
    on_the_day = [s for s, _ in _windows(rule) if s.astimezone(PARIS).date() == datetime(2025, 3, 30).date()]
    assert len(on_the_day) == 1


def test_start_in_the_repeated_hour__makes_one_window_at_the_first_pass(recurring_freeze):
    # 02:30 happens twice in Paris on 26 October 2025 (03:00 CEST → 02:00 CET).
    rule, _ = recurring_freeze("30 2 * * *", 60, time_zone="Europe/Paris", now=_utc(2025, 10, 25))
    on_the_day = [(s, e) for s, e in _windows(rule) if s.astimezone(PARIS).date() == datetime(2025, 10, 26).date()]
    # Starts 02:30 CEST; 60 minutes on the local clock end at 03:30 CET, two real hours later.
    assert on_the_day == [(_utc(2025, 10, 26, 0, 30), _utc(2025, 10, 26, 2, 30))]


@pytest.mark.parametrize(("day", "expected"), [(datetime(2025, 3, 30), 23), (datetime(2025, 10, 26), 24)])
def test_hourly_rule_on_a_dst_day__one_window_per_local_hour_that_exists(recurring_freeze, day, expected):
    rule, _ = recurring_freeze("0 * * * *", 30, time_zone="Europe/Paris", now=_utc(day.year, day.month, day.day - 1))
    starts = [s for s, _ in _windows(rule) if s.astimezone(PARIS).date() == day.date()]
    assert len(starts) == len(set(starts)) == expected
    assert all(b - a >= timedelta(hours=1) for a, b in zip(starts, starts[1:], strict=False))


def test_utc_rule__every_night_22_to_06(recurring_freeze):
    rule, _ = recurring_freeze("0 22 * * *", 480, title="Nightly batch", now=_utc(2025, 3, 29, 23))
    windows = _windows(rule)
    # The night in progress at 23:00 is included, then one per night for 14 days.
    assert windows[0] == (_utc(2025, 3, 29, 22), _utc(2025, 3, 30, 6))
    assert windows[1] == (_utc(2025, 3, 30, 22), _utc(2025, 3, 31, 6))
    assert len(windows) == 15
