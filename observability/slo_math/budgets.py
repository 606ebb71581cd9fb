"""SLO definitions, SLI points, exact error budgets and multi-window multi-burn-rate alerts.

Pure Python (no Django): the models, admin and nightly tasks wrap these functions.

Exactness: every ratio is a `fractions.Fraction` built from integer counts and the `Decimal`
objective, so budgets come from raw good/total sums over the window (never an average of
per-minute ratios) and comparisons such as "burn rate > 13.44" have no rounding at all.

Latency histograms are Prometheus-style cumulative `le` buckets: `{upper_bound_ms: count of
requests with latency <= upper_bound_ms}`; the implicit `+Inf` bucket is `SliPoint.total`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

MINUTE = timedelta(minutes=1)
DEFAULT_SLICE_ERROR_THRESHOLD = Decimal("0.05")


class SliType(StrEnum):
    REQUEST_SUCCESS = "request_success"
    LATENCY = "latency"
    AVAILABILITY = "availability"
    DATABASE_ERRORS = "database_errors"


class Verdict(StrEnum):
    MET = "met"
    BREACHED = "breached"
    INSUFFICIENT_DATA = "insufficient_data"


# ---------------------------------------------------------------------------------------------
# Definitions and points
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SloDefinition:
    """One SLO of one service in one environment.

    `objective` is the target share of good events (Decimal in (0, 1), e.g. Decimal("0.999")).
    `min_events`: below this many events (slices for availability) in the window no verdict is given.
    `threshold_ms` is required for latency SLOs only; `slice_error_threshold` for availability only
    (a one-minute slice is good when its error ratio is strictly below it).
    """

    name: str
    sli_type: SliType
    objective: Decimal
    window: timedelta
    min_events: int
    environment: str
    service: str = ""
    threshold_ms: int | None = None
    slice_error_threshold: Decimal | None = None
    display_name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name: must not be empty")
        if not isinstance(self.sli_type, SliType):
            raise ValueError(f"sli_type: must be one of {[t.value for t in SliType]}, got {self.sli_type!r}")
        if not isinstance(self.objective, Decimal) or not (0 < self.objective < 1):
            raise ValueError(f"objective: must be a Decimal strictly between 0 and 1, got {self.objective!r}")
        if self.window <= timedelta(0) or self.window % MINUTE:
            raise ValueError(f"window: must be a positive whole number of minutes, got {self.window!r}")
        if isinstance(self.min_events, bool) or not isinstance(self.min_events, int) or self.min_events < 0:
            raise ValueError(f"min_events: must be an integer >= 0, got {self.min_events!r}")
        if self.sli_type is SliType.LATENCY:
            if isinstance(self.threshold_ms, bool) or not isinstance(self.threshold_ms, int) or self.threshold_ms <= 0:
                raise ValueError(f"threshold_ms: a latency SLO needs a positive integer, got {self.threshold_ms!r}")
        elif self.threshold_ms is not None:
            raise ValueError(f"threshold_ms: only latency SLOs have a threshold ({self.sli_type} given)")
        if self.sli_type is SliType.AVAILABILITY:
            t = self.slice_error_threshold
            if not isinstance(t, Decimal) or not (0 < t <= 1):
                raise ValueError(f"slice_error_threshold: an availability SLO needs a Decimal in (0, 1], got {t!r}")
        elif self.slice_error_threshold is not None:
            raise ValueError(f"slice_error_threshold: only availability SLOs have one ({self.sli_type} given)")


@dataclass(frozen=True)
class SliPoint:
    """Aggregates of one minute `[minute, minute + 1m)` for one service and environment.

    `latency_buckets` are cumulative (`le`) counts keyed by upper bound in milliseconds; they must
    not decrease with the bound and never exceed `total`. Requests above the largest bound are the
    implicit `+Inf` bucket. Use `cumulative_buckets()` to convert per-bucket counts.
    """

    minute: datetime
    total: int = 0
    errors: int = 0
    latency_buckets: Mapping[float, int] = field(default_factory=dict)
    db_queries: int = 0
    db_errors: int = 0

    def __post_init__(self) -> None:
        if self.minute.second or self.minute.microsecond:
            raise ValueError(f"minute: must be aligned to a whole minute, got {self.minute.isoformat()}")
        for name in ("total", "errors", "db_queries", "db_errors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: must be an integer >= 0, got {value!r}")
        if self.errors > self.total:
            raise ValueError(f"errors: {self.errors} exceeds total {self.total}")
        if self.db_errors > self.db_queries:
            raise ValueError(f"db_errors: {self.db_errors} exceeds db_queries {self.db_queries}")
        for bound in self.latency_buckets:
            if isinstance(bound, bool) or not isinstance(bound, int | float | Decimal) or not math.isfinite(bound):
                raise ValueError(f"latency_buckets: bounds must be finite numbers of ms, got {bound!r}")
        previous = 0
        for bound in sorted(self.latency_buckets):
            count = self.latency_buckets[bound]
            if isinstance(count, bool) or not isinstance(count, int) or count < previous:
                raise ValueError(f"latency_buckets[{bound}]: cumulative counts must not decrease, got {count!r}")
            if count > self.total:
                raise ValueError(f"latency_buckets[{bound}]: {count} exceeds total {self.total}")
            previous = count


def cumulative_buckets(per_bucket: Mapping[float, int]) -> dict[float, int]:
    """Turn per-bucket counts ({bound: requests in (previous bound, bound]}) into cumulative `le` counts."""
    running = 0
    cumulative: dict[float, int] = {}
    for bound in sorted(per_bucket):
        running += per_bucket[bound]
        cumulative[bound] = running
    return cumulative


def good_total(
    sli_type: SliType,
    point: SliPoint,
    threshold_ms: int | None = None,
    *,
    slice_error_threshold: Decimal = DEFAULT_SLICE_ERROR_THRESHOLD,
) -> tuple[int, int]:
    """Good and total events that one minute contributes to an SLI.

    - request success: (total - errors, total).
    - latency: good = the cumulative count of the largest bucket bound <= threshold. When the
      threshold falls between two bounds this undercounts (requests between that bound and the
      threshold are counted as slow): conservative, never flattering. A minute without a
      histogram gives (0, 0): no latency evidence rather than a fabricated failure.
    - availability: the minute is one slice, good when errors / total < slice_error_threshold;
      a minute without requests is no slice at all (0, 0).
    - database errors: (db_queries - db_errors, db_queries).
    """
    if sli_type is SliType.REQUEST_SUCCESS:
        return point.total - point.errors, point.total
    if sli_type is SliType.LATENCY:
        if threshold_ms is None:
            raise ValueError("threshold_ms: required for the latency SLI")
        if not point.latency_buckets:
            return 0, 0
        eligible = [bound for bound in point.latency_buckets if bound <= threshold_ms]
        good = point.latency_buckets[max(eligible)] if eligible else 0
        return good, point.total
    if sli_type is SliType.AVAILABILITY:
        if point.total == 0:
            return 0, 0
        is_good = Fraction(point.errors, point.total) < Fraction(slice_error_threshold)
        return int(is_good), 1
    if sli_type is SliType.DATABASE_ERRORS:
        return point.db_queries - point.db_errors, point.db_queries
    raise ValueError(f"sli_type: unknown {sli_type!r}")


def slo_good_total(slo: SloDefinition, point: SliPoint) -> tuple[int, int]:
    return good_total(
        slo.sli_type,
        point,
        slo.threshold_ms,
        slice_error_threshold=slo.slice_error_threshold or DEFAULT_SLICE_ERROR_THRESHOLD,
    )


# ---------------------------------------------------------------------------------------------
# Seeded definitions
# ---------------------------------------------------------------------------------------------


def minimum_events_for(objective: Decimal) -> int:
    """The smallest event count whose error budget holds at least one bad event: ceil(1 / (1 - objective))."""
    return math.ceil(1 / (1 - Fraction(objective)))


def latency_threshold_ms(environment_slug: str) -> int:
    # Production is held to the user-facing target; preview (and anything not production) runs on
    # smaller, colder infrastructure, so the issue grants it 400 ms.
    return 300 if environment_slug == "production" else 400


def default_slos(environment_slug: str, *, service: str = "") -> list[SloDefinition]:
    """The four SLOs seeded for every service in one environment."""
    success, latency, db, availability = (Decimal("0.999"), Decimal("0.95"), Decimal("0.999"), Decimal("0.9995"))
    threshold = latency_threshold_ms(environment_slug)
    return [
        SloDefinition(
            name="api-success",
            display_name="API success ratio",
            description="Share of API requests that do not fail with a server error.",
            sli_type=SliType.REQUEST_SUCCESS,
            objective=success,
            window=timedelta(days=7),
            min_events=minimum_events_for(success),
            environment=environment_slug,
            service=service,
        ),
        SloDefinition(
            name="api-latency",
            display_name=f"API latency p95 <= {threshold} ms",
            description=f"At least 95% of requests complete in {threshold} ms or less.",
            sli_type=SliType.LATENCY,
            objective=latency,
            window=timedelta(days=7),
            min_events=minimum_events_for(latency),
            environment=environment_slug,
            service=service,
            threshold_ms=threshold,
        ),
        SloDefinition(
            name="database-errors",
            display_name="Database error rate < 0.1%",
            description="Share of database queries that succeed.",
            sli_type=SliType.DATABASE_ERRORS,
            objective=db,
            window=timedelta(hours=24),
            min_events=minimum_events_for(db),
            environment=environment_slug,
            service=service,
        ),
        SloDefinition(
            name="availability",
            display_name="Availability (one-minute slices)",
            description="Share of one-minute slices in which fewer than 5% of requests failed.",
            sli_type=SliType.AVAILABILITY,
            objective=availability,
            window=timedelta(days=7),
            min_events=minimum_events_for(availability),
            environment=environment_slug,
            service=service,
            slice_error_threshold=DEFAULT_SLICE_ERROR_THRESHOLD,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Burn-rate alerts
# ---------------------------------------------------------------------------------------------

# The alert policy is stated for a 7-day SLO window as the share of the whole window's error
# budget that may burn within each long window before someone is told. The factor a window's burn
# rate must exceed is then  share x SLO window / long window  (the SRE workbook's formula: 2% of a
# 30-day budget in 1 h gives 0.02 x 720 / 1 = 14.4). The shares below are the ones that reproduce
# the pinned factors for 7 days (168 h):
#     8%    in 1 h  -> 0.08  x 168 / 1  = 13.44  (page)
#     12.5% in 6 h  -> 0.125 x 168 / 6  = 3.5    (page)
#     20%   in 1 d  -> 0.20  x 168 / 24 = 1.4    (ticket)
#     42%   in 3 d  -> 0.42  x 168 / 72 = 0.98   (ticket)
REFERENCE_WINDOW = timedelta(days=7)


class AlertAction(StrEnum):
    PAGE = "page"
    TICKET = "ticket"

    @property
    def severity(self) -> str:
        """The notification severity the action is routed with."""
        return "critical" if self is AlertAction.PAGE else "warning"


@dataclass(frozen=True)
class BurnWindowPair:
    long_window: timedelta
    short_window: timedelta
    budget_share: Fraction
    action: AlertAction

    def factor(self, slo_window: timedelta) -> Fraction:
        return burn_rate_factor(self.budget_share, slo_window, self.long_window)


BURN_WINDOW_PAIRS: tuple[BurnWindowPair, ...] = (
    BurnWindowPair(timedelta(hours=1), timedelta(minutes=5), Fraction(8, 100), AlertAction.PAGE),
    BurnWindowPair(timedelta(hours=6), timedelta(minutes=30), Fraction(125, 1000), AlertAction.PAGE),
    BurnWindowPair(timedelta(days=1), timedelta(hours=2), Fraction(20, 100), AlertAction.TICKET),
    BurnWindowPair(timedelta(days=3), timedelta(hours=6), Fraction(42, 100), AlertAction.TICKET),
)


def _seconds(delta: timedelta) -> int:
    if delta % timedelta(seconds=1):
        raise ValueError(f"durations must be whole seconds, got {delta!r}")
    return delta // timedelta(seconds=1)


def burn_rate_factor(budget_share: Fraction, slo_window: timedelta, long_window: timedelta) -> Fraction:
    """The burn rate at which `budget_share` of the window's budget is spent within `long_window`."""
    return Fraction(budget_share) * _seconds(slo_window) / _seconds(long_window)


def burn_rate(good: int, total: int, objective: Decimal) -> Fraction:
    """How many times faster than sustainable the budget burns: error ratio / (1 - objective); 0 without events."""
    if total == 0:
        return Fraction(0)
    return Fraction(total - good, total) / (1 - Fraction(objective))


def pairs_for_window(slo_window: timedelta) -> list[BurnWindowPair]:
    """The window pairs for an SLO window: the 7-day table, scaled for other windows.

    Both windows of each pair scale with slo_window / 7 days (rounded to whole minutes, at least one
    minute), so a 24-hour SLO is watched over 9 min / 1 min ... rather than over a 3-day window
    longer than the SLO itself; the factor is recomputed from the scaled long window and so stays
    within rounding of the 7-day value.
    """
    if slo_window == REFERENCE_WINDOW:
        return list(BURN_WINDOW_PAIRS)
    ratio = Fraction(_seconds(slo_window), _seconds(REFERENCE_WINDOW))

    def scale(delta: timedelta) -> timedelta:
        minutes = round(Fraction(_seconds(delta), 60) * ratio)
        return timedelta(minutes=max(1, minutes))

    return [
        BurnWindowPair(scale(p.long_window), scale(p.short_window), p.budget_share, p.action) for p in BURN_WINDOW_PAIRS
    ]


@dataclass(frozen=True)
class AlertDecision:
    """The verdict of one long/short window pair; `firing` when both burn rates exceed the factor."""

    slo_name: str
    action: AlertAction
    severity: str
    long_window: timedelta
    short_window: timedelta
    factor: Fraction
    long_burn_rate: Fraction
    short_burn_rate: Fraction
    long_counts: tuple[int, int]
    short_counts: tuple[int, int]
    firing: bool


def evaluate_burn_alerts(
    points_by_minute: Mapping[datetime, SliPoint], slo: SloDefinition, now: datetime
) -> list[AlertDecision]:
    """One decision per window pair (page pairs first), from good/total counts summed per window.

    Windows end at `window_end(now)`; a window with no events has burn rate 0 and never fires.
    """
    rows = _minute_counts(slo, points_by_minute)
    end = window_end(now)
    counts = {length: _sum_between(rows, end - length, end) for length in windows_needed(slo)}
    return decide_burn_alerts(slo, counts)


def windows_needed(slo: SloDefinition) -> list[timedelta]:
    """Every window length whose (good, total) the budget and the burn-rate alerts of `slo` read, longest first."""
    lengths = {slo.window}
    for pair in pairs_for_window(slo.window):
        lengths.update((pair.long_window, pair.short_window))
    return sorted(lengths, reverse=True)


def decide_burn_alerts(slo: SloDefinition, counts: Mapping[timedelta, tuple[int, int]]) -> list[AlertDecision]:
    """The alert decisions from (good, total) per window length, e.g. summed by one SQL aggregate.

    `counts` must hold every length of `windows_needed(slo)`; this is the one place the firing rule lives.
    """
    decisions = []
    for pair in pairs_for_window(slo.window):
        long_good, long_total = counts[pair.long_window]
        short_good, short_total = counts[pair.short_window]
        factor = pair.factor(slo.window)
        long_rate = burn_rate(long_good, long_total, slo.objective)
        short_rate = burn_rate(short_good, short_total, slo.objective)
        decisions.append(
            AlertDecision(
                slo_name=slo.name,
                action=pair.action,
                severity=pair.action.severity,
                long_window=pair.long_window,
                short_window=pair.short_window,
                factor=factor,
                long_burn_rate=long_rate,
                short_burn_rate=short_rate,
                long_counts=(long_good, long_total),
                short_counts=(short_good, short_total),
                firing=long_rate > factor and short_rate > factor,
            )
        )
    return decisions


def firing_alerts(decisions: Iterable[AlertDecision]) -> list[AlertDecision]:
    return [decision for decision in decisions if decision.firing]
