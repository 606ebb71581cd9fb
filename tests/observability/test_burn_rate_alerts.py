from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from observability.slo_math import (
    AlertAction,
    AlertDecision,
    SliPoint,
    SliType,
    SloDefinition,
    burn_rate,
    burn_rate_factor,
    default_slos,
    evaluate_burn_alerts,
    firing_alerts,
    pairs_for_window,
)

END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
NOW = END + timedelta(seconds=42)
WEEK = 7 * 24 * 60


def api_success() -> SloDefinition:
    return next(s for s in default_slos("production", service="checkout") if s.name == "api-success")


def steady(minutes: int, total: int, errors: int = 0) -> dict[datetime, SliPoint]:
    """`minutes` of identical traffic ending at the last complete minute before NOW."""
    return {
        END - timedelta(minutes=m): SliPoint(minute=END - timedelta(minutes=m), total=total, errors=errors)
        for m in range(1, minutes + 1)
    }


def with_errors(points: dict[datetime, SliPoint], minutes_ago: range, errors: int) -> dict[datetime, SliPoint]:
    for m in minutes_ago:
        minute = END - timedelta(minutes=m)
        points[minute] = SliPoint(minute=minute, total=points[minute].total, errors=errors)
    return points


def by_window(decisions: list[AlertDecision]) -> dict[tuple[timedelta, timedelta], AlertDecision]:
    return {(d.long_window, d.short_window): d for d in decisions}


H = timedelta(hours=1)
PAIR_1H, PAIR_6H = (H, timedelta(minutes=5)), (6 * H, timedelta(minutes=30))
PAIR_1D, PAIR_3D = (24 * H, 2 * H), (72 * H, 6 * H)


def test_seven_day_window__has_the_pinned_factors_windows_and_actions():
    pairs = pairs_for_window(timedelta(days=7))

    assert [(p.long_window, p.short_window) for p in pairs] == [PAIR_1H, PAIR_6H, PAIR_1D, PAIR_3D]
    assert [p.factor(timedelta(days=7)) for p in pairs] == [
        Fraction("13.44"),
        Fraction("3.5"),
        Fraction("1.4"),
        Fraction("0.98"),
    ]
    assert [p.action for p in pairs] == [AlertAction.PAGE, AlertAction.PAGE, AlertAction.TICKET, AlertAction.TICKET]
    assert [p.action.severity for p in pairs] == ["critical", "critical", "warning", "warning"]


def test_factor_formula__reproduces_the_sre_workbook_for_thirty_days():
    # 2% of a 30-day budget in 1 h, 5% in 6 h, 10% in 3 d: 14.4, 6 and 1.
    thirty_days = timedelta(days=30)
    assert burn_rate_factor(Fraction(2, 100), thirty_days, H) == Fraction("14.4")
    assert burn_rate_factor(Fraction(5, 100), thirty_days, 6 * H) == 6
    assert burn_rate_factor(Fraction(10, 100), thirty_days, 72 * H) == 1


def test_burn_rate__is_error_ratio_over_error_budget():
    assert burn_rate(good=990, total=1000, objective=Decimal("0.999")) == 10
    assert burn_rate(good=0, total=0, objective=Decimal("0.999")) == 0


def test_healthy_week__fires_nothing():
    decisions = evaluate_burn_alerts(steady(WEEK, total=100), api_success(), NOW)

    assert len(decisions) == 4
    assert firing_alerts(decisions) == []
    assert all(d.long_burn_rate == 0 and d.short_burn_rate == 0 for d in decisions)


def test_no_data__fires_nothing():
    assert firing_alerts(evaluate_burn_alerts({}, api_success(), NOW)) == []


def test_sharp_outage_in_the_last_minutes__pages_on_the_fast_pair():
    points = with_errors(steady(WEEK, total=100), range(1, 11), errors=50)
    decisions = by_window(evaluate_burn_alerts(points, api_success(), NOW))

    fast = decisions[PAIR_1H]
    assert fast.firing and fast.action is AlertAction.PAGE and fast.severity == "critical"
    assert fast.long_counts == (6000 - 500, 6000)
    assert fast.short_counts == (500 - 250, 500)
    assert fast.long_burn_rate == Fraction(500, 6000) / Fraction(1, 1000)


def test_outage_that_ended__stops_paging_once_the_short_window_is_clean():
    # 30 minutes of 50% errors that stopped 10 minutes ago: the 1 h window still burns hot,
    # but the 5 min window is clean, so the fast pair resets while the 6 h pair keeps paging.
    points = with_errors(steady(WEEK, total=100), range(11, 41), errors=50)
    decisions = by_window(evaluate_burn_alerts(points, api_success(), NOW))

    assert decisions[PAIR_1H].long_burn_rate > decisions[PAIR_1H].factor
    assert decisions[PAIR_1H].short_burn_rate == 0
    assert not decisions[PAIR_1H].firing
    assert decisions[PAIR_6H].firing


def test_slow_leak__opens_tickets_but_does_not_page():
    # 0.15% errors for the whole week: burn rate 1.5, above the ticket factors (1.4, 0.98),
    # below the page factors (13.44, 3.5).
    points = steady(WEEK, total=2000, errors=3)
    decisions = by_window(evaluate_burn_alerts(points, api_success(), NOW))

    assert {pair for pair, d in decisions.items() if d.firing} == {PAIR_1D, PAIR_3D}
    assert {d.severity for d in firing_alerts(decisions.values())} == {"warning"}


def test_burn_rate_exactly_at_the_factor__does_not_fire():
    # 42 errors in 3125 requests = 1.344% errors = burn rate 13.44 exactly, in every window.
    points = steady(WEEK, total=3125, errors=42)
    decisions = by_window(evaluate_burn_alerts(points, api_success(), NOW))
    assert decisions[PAIR_1H].long_burn_rate == decisions[PAIR_1H].factor == Fraction("13.44")
    assert not decisions[PAIR_1H].firing

    # One more error in the last minute tips both 1 h and 5 min windows over.
    points = with_errors(points, range(1, 2), errors=43)
    assert by_window(evaluate_burn_alerts(points, api_success(), NOW))[PAIR_1H].firing


def test_latency_slo__alerts_on_slow_request_counts():
    latency = next(s for s in default_slos("production") if s.sli_type is SliType.LATENCY)
    points = {}
    for m in range(1, WEEK + 1):
        minute = END - timedelta(minutes=m)
        slow = 70 if m <= 60 else 1  # the last hour: 70% of requests over 300 ms
        points[minute] = SliPoint(minute=minute, total=100, latency_buckets={100: 20, 300: 100 - slow, 1000: 100})
    decisions = by_window(evaluate_burn_alerts(points, latency, NOW))

    # Budget 5% slow: the last hour burns at 0.70 / 0.05 = 14 (> 13.44); the last 6 hours at
    # (4200 + 300) / 36000 = 12.5% slow = 2.5 (< 3.5).
    assert decisions[PAIR_1H].long_burn_rate == decisions[PAIR_1H].short_burn_rate == 14
    assert decisions[PAIR_1H].firing
    assert decisions[PAIR_6H].long_burn_rate == Fraction("2.5")
    assert not decisions[PAIR_6H].firing


def test_twenty_four_hour_window__scales_the_pairs_inside_the_window():
    db = next(s for s in default_slos("production") if s.sli_type is SliType.DATABASE_ERRORS)
    pairs = pairs_for_window(db.window)

    assert all(p.short_window < p.long_window <= db.window for p in pairs)
    assert [p.long_window for p in pairs] == [timedelta(minutes=m) for m in (9, 51, 206, 617)]
    for pair, pinned in zip(pairs, ("13.44", "3.5", "1.4", "0.98"), strict=True):
        assert abs(pair.factor(db.window) / Fraction(pinned) - 1) < Fraction(5, 100)


def test_database_outage__pages_for_the_database_slo():
    db = next(s for s in default_slos("production") if s.sli_type is SliType.DATABASE_ERRORS)
    points = {}
    for m in range(1, 24 * 60 + 1):
        minute = END - timedelta(minutes=m)
        errors = 100 if m <= 10 else 0
        points[minute] = SliPoint(minute=minute, db_queries=1000, db_errors=errors)

    fired = firing_alerts(evaluate_burn_alerts(points, db, NOW))
    assert AlertAction.PAGE in {d.action for d in fired}


def test_worked_example_in_docs__pages():
    # docs/SLOs.md, "Worked example: a page": 200 req/min; the last hour has 240 errors, 30 of them
    # in the last 5 minutes.
    points = steady(WEEK, total=200)
    with_errors(points, range(1, 6), errors=6)
    with_errors(points, range(6, 61), errors=0)
    for m in range(6, 61, 11):
        with_errors(points, range(m, m + 1), errors=42)
    decisions = by_window(evaluate_burn_alerts(points, api_success(), NOW))

    fast = decisions[PAIR_1H]
    assert (fast.long_counts, fast.short_counts) == ((12_000 - 240, 12_000), (1_000 - 30, 1_000))
    assert (fast.long_burn_rate, fast.short_burn_rate) == (20, 30)
    assert fast.firing and fast.severity == "critical"
