from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from observability.slo_math import (
    SliPoint,
    SliType,
    SloDefinition,
    Verdict,
    budget_burndown,
    compute_budget,
    cumulative_buckets,
    default_slos,
    evaluate_budget,
    good_total,
    minimum_events_for,
    window_counts,
)

NOW = datetime(2025, 3, 10, 12, 0, 30, tzinfo=UTC)
END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def slo(sli_type: SliType = SliType.REQUEST_SUCCESS, **overrides: object) -> SloDefinition:
    values: dict[str, object] = {
        "name": "api-success",
        "sli_type": sli_type,
        "objective": Decimal("0.999"),
        "window": timedelta(days=7),
        "min_events": 0,
        "environment": "production",
        "service": "checkout",
    }
    if sli_type is SliType.LATENCY:
        values["threshold_ms"] = 300
    if sli_type is SliType.AVAILABILITY:
        values["slice_error_threshold"] = Decimal("0.05")
    values.update(overrides)
    return SloDefinition(**values)  # type: ignore[arg-type]  # test helper builds kwargs dynamically


def point(minutes_ago: int, total: int = 0, errors: int = 0, **extra: object) -> SliPoint:
    return SliPoint(minute=END - timedelta(minutes=minutes_ago), total=total, errors=errors, **extra)  # type: ignore[arg-type]  # test helper


def by_minute(*points: SliPoint) -> dict[datetime, SliPoint]:
    return {p.minute: p for p in points}


# --- good/total per SLI type -----------------------------------------------------------------


def test_request_success__good_is_total_minus_errors():
    assert good_total(SliType.REQUEST_SUCCESS, point(1, total=200, errors=3)) == (197, 200)


def test_latency_threshold_on_a_bound__counts_that_bucket_as_good():
    p = point(1, total=100, latency_buckets={100: 40, 300: 90, 1000: 99})
    assert good_total(SliType.LATENCY, p, 300) == (90, 100)


def test_latency_threshold_between_bounds__counts_only_up_to_the_lower_bound():
    p = point(1, total=100, latency_buckets={100: 40, 250: 80, 500: 95})
    # 300 ms lies between 250 and 500: requests in (250, 300] cannot be told apart from slower ones.
    assert good_total(SliType.LATENCY, p, 300) == (80, 100)


def test_latency_threshold_below_every_bound__counts_nothing_as_good():
    p = point(1, total=10, latency_buckets={500: 10})
    assert good_total(SliType.LATENCY, p, 300) == (0, 10)


def test_latency_requests_beyond_the_largest_bound__count_as_slow():
    p = point(1, total=100, latency_buckets={100: 50, 200: 70})
    assert good_total(SliType.LATENCY, p, 5000) == (70, 100)


def test_latency_minute_without_histogram__gives_no_evidence():
    assert good_total(SliType.LATENCY, point(1, total=100), 300) == (0, 0)


def test_per_bucket_counts__convert_to_cumulative_buckets():
    assert cumulative_buckets({300: 30, 100: 50, 1000: 15}) == {100: 50, 300: 80, 1000: 95}


def test_availability_slice_under_the_error_threshold__is_one_good_slice():
    assert good_total(SliType.AVAILABILITY, point(1, total=1000, errors=49)) == (1, 1)


def test_availability_slice_at_the_error_threshold__is_one_bad_slice():
    assert good_total(SliType.AVAILABILITY, point(1, total=1000, errors=50)) == (0, 1)


def test_availability_custom_slice_threshold__is_honoured():
    p = point(1, total=100, errors=9)
    assert good_total(SliType.AVAILABILITY, p, slice_error_threshold=Decimal("0.10")) == (1, 1)
    assert good_total(SliType.AVAILABILITY, p, slice_error_threshold=Decimal("0.09")) == (0, 1)


def test_availability_minute_without_requests__is_no_slice():
    assert good_total(SliType.AVAILABILITY, point(1)) == (0, 0)


def test_database_errors__count_queries_not_requests():
    p = point(1, total=10, errors=10, db_queries=5000, db_errors=4)
    assert good_total(SliType.DATABASE_ERRORS, p) == (4996, 5000)


def test_inconsistent_point__is_rejected_naming_the_field():
    with pytest.raises(ValueError, match="errors"):
        point(1, total=5, errors=6)
    with pytest.raises(ValueError, match=r"latency_buckets\[300\]"):
        point(1, total=100, latency_buckets={100: 50, 300: 40})
    with pytest.raises(ValueError, match="minute"):
        SliPoint(minute=END + timedelta(seconds=5), total=1)


# --- exact budgets ---------------------------------------------------------------------------


def test_budget_from_counts__is_exact():
    report = compute_budget(Decimal("0.999"), good=999_100, total=1_000_000)

    assert report.allowed_bad == 1000
    assert report.bad == 900
    assert report.remaining == 100
    assert report.consumed_fraction == Fraction(9, 10)
    assert report.remaining_fraction == Fraction(1, 10)
    assert report.compliance == Fraction(9991, 10000)
    assert report.verdict is Verdict.MET


def test_budget_with_decimal_objective__has_no_float_error():
    report = compute_budget(Decimal("0.9"), good=3, total=3)
    # (1 - 0.9) * 3 in binary floating point is 0.30000000000000004.
    assert report.allowed_bad == Fraction(3, 10)


def test_overspent_budget__is_breached_with_negative_remaining():
    report = compute_budget(Decimal("0.99"), good=970, total=1000)

    assert report.verdict is Verdict.BREACHED
    assert report.remaining == -20
    assert report.consumed_fraction == 3
    assert report.remaining_fraction == -2


def test_budget_exactly_spent__is_still_met():
    report = compute_budget(Decimal("0.99"), good=990, total=1000)
    assert (report.verdict, report.remaining, report.remaining_fraction) == (Verdict.MET, 0, 0)


def test_fewer_events_than_minimum__gives_insufficient_data():
    report = compute_budget(Decimal("0.999"), good=10, total=999, min_events=1000)
    assert report.verdict is Verdict.INSUFFICIENT_DATA


def test_no_events__gives_insufficient_data_and_no_ratios():
    report = compute_budget(Decimal("0.999"), good=0, total=0)
    assert (report.verdict, report.compliance, report.remaining_fraction) == (Verdict.INSUFFICIENT_DATA, None, None)


def test_window_compliance__sums_counts_rather_than_averaging_minute_ratios():
    points = by_minute(point(3, total=10, errors=1), point(2, total=990, errors=0))
    report = evaluate_budget(slo(), points, NOW)

    # The average of the two minute ratios would be (0.9 + 1.0) / 2 = 0.95: breached.
    assert report.compliance == Fraction(999, 1000)
    assert report.verdict is Verdict.MET


def test_window__includes_its_first_minute_and_excludes_the_minute_in_progress():
    s = slo(window=timedelta(hours=1))
    points = by_minute(
        point(60, total=1),  # the first minute of [11:00, 12:00)
        point(61, total=10),  # before the window
        point(0, total=100),  # 12:00, still in progress at 12:00:30
    )
    assert window_counts(s, points, NOW) == (1, 1)


def test_availability_window__counts_slices_not_requests():
    s = slo(SliType.AVAILABILITY, objective=Decimal("0.5"))
    points = by_minute(point(3, total=1000, errors=0), point(2, total=10, errors=5), point(1))
    report = evaluate_budget(s, points, NOW)
    assert (report.good, report.total) == (1, 2)


# --- seeded definitions ----------------------------------------------------------------------


def test_seeded_slos_in_production__match_the_issue():
    slos = {s.name: s for s in default_slos("production", service="checkout")}

    assert set(slos) == {"api-success", "api-latency", "database-errors", "availability"}
    success, latency = slos["api-success"], slos["api-latency"]
    db, availability = slos["database-errors"], slos["availability"]
    assert (success.sli_type, success.objective, success.window) == (
        SliType.REQUEST_SUCCESS,
        Decimal("0.999"),
        timedelta(days=7),
    )
    assert (latency.sli_type, latency.objective, latency.threshold_ms) == (SliType.LATENCY, Decimal("0.95"), 300)
    assert (db.sli_type, db.objective, db.window) == (SliType.DATABASE_ERRORS, Decimal("0.999"), timedelta(hours=24))
    assert (availability.objective, availability.window, availability.slice_error_threshold) == (
        Decimal("0.9995"),
        timedelta(days=7),
        Decimal("0.05"),
    )
    assert all(s.service == "checkout" and s.environment == "production" for s in slos.values())


def test_seeded_latency_in_preview__allows_400_ms():
    latency = next(s for s in default_slos("preview") if s.sli_type is SliType.LATENCY)
    assert latency.threshold_ms == 400


def test_seeded_minimum_events__leave_room_for_one_bad_event():
    assert [minimum_events_for(s.objective) for s in default_slos("production")] == [1000, 20, 1000, 2000]
    for s in default_slos("production"):
        assert (1 - Fraction(s.objective)) * s.min_events >= 1


def test_invalid_definition__is_rejected_naming_the_field():
    with pytest.raises(ValueError, match="objective"):
        slo(objective=Decimal("1"))
    with pytest.raises(ValueError, match="threshold_ms"):
        slo(SliType.LATENCY, threshold_ms=None)
    with pytest.raises(ValueError, match="window"):
        slo(window=timedelta(seconds=90))


# --- burn-down series ------------------------------------------------------------------------


def test_burndown__starts_full_and_ends_at_the_remaining_fraction():
    s = slo(window=timedelta(hours=4), objective=Decimal("0.99"))
    points = by_minute(
        *[point(m, total=100) for m in range(1, 241)],
        point(200, total=100, errors=60),  # 24000 events -> 240 allowed bad; 60 spent at 08:40
    )
    series = budget_burndown(s, points, NOW, step=timedelta(hours=1))

    assert [t for t, _ in series] == [END - timedelta(hours=h) for h in (4, 3, 2, 1, 0)]
    assert [v for _, v in series] == [1, Fraction(3, 4), Fraction(3, 4), Fraction(3, 4), Fraction(3, 4)]
    assert series[-1][1] == evaluate_budget(s, points, NOW).remaining_fraction


def test_worked_example_in_docs__adds_up():
    # docs/SLOs.md, "Worked example: api-success": 200 requests a minute for a week, 1,512 failed.
    report = compute_budget(Decimal("0.999"), good=2_016_000 - 1_512, total=10_080 * 200, min_events=1000)

    assert (report.allowed_bad, report.remaining) == (2016, 504)
    assert (report.consumed_fraction, report.remaining_fraction) == (Fraction(3, 4), Fraction(1, 4))
    assert report.compliance == Fraction("0.99925")
    assert report.verdict is Verdict.MET
