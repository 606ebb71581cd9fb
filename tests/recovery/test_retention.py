"""Retention: keep the newest backup of the N latest days and M latest months, delete the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery.engine.backup import BackupInfo
from recovery.engine.manifest import Manifest
from recovery.engine.retention import apply_retention

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


def backup_at(moment: datetime) -> BackupInfo:
    stamp = moment.isoformat()
    return BackupInfo(
        backup_id=f"db-{stamp}",
        database="db",
        path=f"/backups/db-{stamp}.dump",
        manifest_path=f"/backups/db-{stamp}.manifest.json",
        created_at=stamp,
        size_bytes=1,
        sha256="0" * 64,
        seconds=1.0,
        phases=[],
        tables=0,
        rows=0,
        pg_dump_version="pg_dump (PostgreSQL) 15",
        manifest=Manifest(database="db", server_version="15", snapshot_id="", taken_at=stamp, tables=[]),
    )


def nightly(days: int, *, until: datetime = NOW) -> list[BackupInfo]:
    last = until.replace(hour=2, minute=0)
    return [backup_at(last - timedelta(days=d)) for d in range(days)]


def kept(backups: list[BackupInfo], deleted: list[BackupInfo]) -> list[str]:
    gone = {b.backup_id for b in deleted}
    return sorted(b.created_at[:10] for b in backups if b.backup_id not in gone)


def test_ninety_nightly_backups__keeps_last_7_days_and_newest_of_last_3_months() -> None:
    backups = nightly(90)

    deleted = apply_retention(backups, keep_daily=7, keep_monthly=3, now=NOW)

    assert kept(backups, deleted) == [
        "2024-03-31",
        "2024-04-30",
        "2024-05-14",
        "2024-05-15",
        "2024-05-16",
        "2024-05-17",
        "2024-05-18",
        "2024-05-19",
        "2024-05-20",
    ]
    assert len(deleted) == 90 - 9


def test_several_backups_in_one_day__only_the_newest_counts_for_that_day() -> None:
    day = NOW.replace(hour=0)
    backups = [backup_at(day + timedelta(hours=h)) for h in (1, 5, 9)] + nightly(3, until=NOW - timedelta(days=1))

    deleted = apply_retention(backups, keep_daily=2, keep_monthly=0, now=NOW)

    assert [b.created_at for b in backups if b not in deleted] == [
        backup_at(day + timedelta(hours=9)).created_at,
        backup_at(NOW.replace(hour=2, minute=0) - timedelta(days=1)).created_at,
    ]


def test_backups_stopped_ten_days_ago__the_last_good_days_are_not_aged_out() -> None:
    backups = nightly(20, until=NOW - timedelta(days=10))

    deleted = apply_retention(backups, keep_daily=3, keep_monthly=0, now=NOW)

    assert kept(backups, deleted) == ["2024-05-08", "2024-05-09", "2024-05-10"]


def test_month_boundary__last_of_january_kept_as_monthly_first_of_february_as_daily() -> None:
    backups = [backup_at(datetime(2024, 1, d, 2, tzinfo=UTC)) for d in (30, 31)] + [
        backup_at(datetime(2024, 2, 1, 2, tzinfo=UTC))
    ]

    deleted = apply_retention(backups, keep_daily=1, keep_monthly=2, now=datetime(2024, 2, 1, 12, tzinfo=UTC))

    assert [b.created_at[:10] for b in deleted] == ["2024-01-30"]


def test_days_are_utc_days__an_evening_backup_in_new_york_belongs_to_the_next_utc_day() -> None:
    evening_ny = datetime.fromisoformat("2024-05-19T22:30:00-04:00")  # 2024-05-20 02:30 UTC
    backups = [backup_at(evening_ny), backup_at(datetime(2024, 5, 20, 1, 0, tzinfo=UTC))]

    deleted = apply_retention(backups, keep_daily=1, keep_monthly=0, now=NOW)

    assert [b.created_at for b in deleted] == ["2024-05-20T01:00:00+00:00"]


def test_nothing_to_keep_by_policy__the_newest_backup_survives() -> None:
    backups = nightly(5)

    deleted = apply_retention(backups, keep_daily=0, keep_monthly=0, now=NOW)

    assert kept(backups, deleted) == ["2024-05-20"]
    assert [b.created_at[:10] for b in deleted] == ["2024-05-16", "2024-05-17", "2024-05-18", "2024-05-19"]


def test_backup_dated_after_now__kept_and_uses_no_slot() -> None:
    future = backup_at(NOW + timedelta(days=2))
    backups = [*nightly(3), future]

    deleted = apply_retention(backups, keep_daily=2, keep_monthly=0, now=NOW)

    assert future not in deleted
    assert kept(backups, deleted) == ["2024-05-19", "2024-05-20", "2024-05-22"]


def test_applying_twice__second_pass_deletes_nothing() -> None:
    backups = nightly(400)
    survivors = [b for b in backups if b not in apply_retention(backups, keep_daily=7, keep_monthly=12, now=NOW)]

    assert apply_retention(survivors, keep_daily=7, keep_monthly=12, now=NOW) == []
    assert len(survivors) == 7 + 12 - 1  # May's newest is also today's daily


@pytest.mark.parametrize(
    ("daily", "monthly", "now"),
    [(-1, 3, NOW), (7, -1, NOW), (7, 3, NOW.replace(tzinfo=None))],
)
def test_invalid_policy_or_naive_now__rejected(daily: int, monthly: int, now: datetime) -> None:
    with pytest.raises(ValueError):
        apply_retention(nightly(3), keep_daily=daily, keep_monthly=monthly, now=now)
