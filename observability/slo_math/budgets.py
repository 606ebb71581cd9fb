"""Windows and error budgets: which minutes a window covers, their good/total sums, the exact budget and
its verdict, and the burn-down series.

The window helpers live here and the burn-rate alerts (burn.py) read them, so that a budget and an alert
evaluated at the same moment always sum the same minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from observability.slo_math.definitions import MINUTE, SliPoint, SloDefinition, slo_good_total


class Verdict(StrEnum):
    MET = "met"
    BREACHED = "breached"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class BudgetReport:
    """Error budget of one SLO over one window, exact.

    `allowed_bad` = (1 - objective) x total events; `remaining` = allowed_bad - bad (negative when
    overspent); `consumed_fraction` = bad / allowed_bad; `remaining_fraction` = 1 - consumed_fraction.
    Ratios are None when undefined (no events).
    """

    good: int
    total: int
    objective: Decimal
    min_events: int
    verdict: Verdict
    compliance: Fraction | None
    allowed_bad: Fraction
    remaining: Fraction
    consumed_fraction: Fraction | None
    remaining_fraction: Fraction | None

    @property
    def bad(self) -> int:
        return self.total - self.good


def compute_budget(objective: Decimal, good: int, total: int, *, min_events: int = 0) -> BudgetReport:
    """Budget from raw counts summed over the whole window."""
    if not 0 <= good <= total:
        raise ValueError(f"good: must be between 0 and total ({total}), got {good}")
    error_share = 1 - Fraction(objective)
    allowed_bad = error_share * total
    bad = total - good
    compliance = Fraction(good, total) if total else None
    consumed = Fraction(bad) / allowed_bad if allowed_bad else None
    if total == 0 or total < min_events:
        verdict = Verdict.INSUFFICIENT_DATA
    elif bad <= allowed_bad:
        verdict = Verdict.MET
    else:
        verdict = Verdict.BREACHED
    return BudgetReport(
        good=good,
        total=total,
        objective=objective,
        min_events=min_events,
        verdict=verdict,
        compliance=compliance,
        allowed_bad=allowed_bad,
        remaining=allowed_bad - bad,
        consumed_fraction=consumed,
        remaining_fraction=None if consumed is None else 1 - consumed,
    )


def window_end(now: datetime) -> datetime:
    """The exclusive end of windows evaluated at `now`: the minute in progress is incomplete, so it is left out."""
    return now.replace(second=0, microsecond=0)


def _minute_counts(
    slo: SloDefinition, points_by_minute: Mapping[datetime, SliPoint]
) -> list[tuple[datetime, int, int]]:
    rows = []
    for minute, point in points_by_minute.items():
        good, total = slo_good_total(slo, point)
        rows.append((minute, good, total))
    rows.sort(key=lambda row: row[0])
    return rows


def _sum_between(rows: Iterable[tuple[datetime, int, int]], start: datetime, end: datetime) -> tuple[int, int]:
    good = total = 0
    for minute, g, t in rows:
        if start <= minute < end:
            good += g
            total += t
    return good, total


def window_counts(
    slo: SloDefinition, points_by_minute: Mapping[datetime, SliPoint], now: datetime, length: timedelta | None = None
) -> tuple[int, int]:
    """(good, total) over the minutes `[end - length, end)`, `end = window_end(now)`; length defaults to the SLO window."""
    end = window_end(now)
    return _sum_between(_minute_counts(slo, points_by_minute), end - (length or slo.window), end)


def evaluate_budget(slo: SloDefinition, points_by_minute: Mapping[datetime, SliPoint], now: datetime) -> BudgetReport:
    good, total = window_counts(slo, points_by_minute, now)
    return compute_budget(slo.objective, good, total, min_events=slo.min_events)


def budget_burndown(
    slo: SloDefinition,
    points_by_minute: Mapping[datetime, SliPoint],
    now: datetime,
    step: timedelta = timedelta(hours=1),
) -> list[tuple[datetime, Fraction]]:
    """Remaining budget fraction through the current window, for the burn-down chart.

    The budget is sized by the window's total events up to now, so the line starts at 1 at the
    window start and ends at the current `remaining_fraction`; bad events spent earlier pull it down
    at the time they happened. Empty when the window has no events yet.
    """
    end = window_end(now)
    start = end - slo.window
    rows = [row for row in _minute_counts(slo, points_by_minute) if start <= row[0] < end]
    return burndown_from_rows(slo.objective, start, end, rows, step)


def burndown_from_rows(
    objective: Decimal,
    start: datetime,
    end: datetime,
    rows: Iterable[tuple[datetime, int, int]],
    step: timedelta = timedelta(hours=1),
) -> list[tuple[datetime, Fraction]]:
    """The burn-down series from (time, good, total) rows within `[start, end)`.

    Rows may be single minutes or pre-aggregated buckets `[t, t + step)` aligned so that every
    plotted moment (start, start + step, ..., end) is a bucket boundary: a row counts as spent
    from the first moment after its time. The database path feeds hourly buckets aligned on `end`.
    """
    if step < MINUTE:
        raise ValueError(f"step: must be at least one minute, got {step!r}")
    rows = sorted(rows, key=lambda row: row[0])
    total = sum(t for _, _, t in rows)
    allowed_bad = (1 - Fraction(objective)) * total
    if not allowed_bad:
        return []
    series: list[tuple[datetime, Fraction]] = []
    spent = 0
    index = 0
    moment = start
    while True:
        while index < len(rows) and rows[index][0] < moment:
            spent += rows[index][2] - rows[index][1]
            index += 1
        series.append((moment, 1 - Fraction(spent) / allowed_bad))
        if moment >= end:
            break
        moment = min(moment + step, end)
    return series
