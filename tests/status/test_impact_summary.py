"""The impact sentence from per-minute SLI counts: the figures a person checks before publishing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from status.impact import Availability, MinuteCounts, measure, sentence

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
WEEKLY = Availability(objective=Decimal("0.9995"), window=timedelta(days=7), slice_error_threshold=Decimal("0.05"))


def minutes(errors_by_minute: dict[int, int], total: int = 1000, length: int = 30) -> list[MinuteCounts]:
    return [MinuteCounts(T0 + timedelta(minutes=m), total, errors_by_minute.get(m, 0)) for m in range(length)]


def test_errors_from_10_02_to_10_18__sentence_with_share_span_and_budget():
    # 17 minutes with failures; 3 of them at or over the 5% slice threshold (bad minutes for the SLO).
    errors = {m: 2 for m in range(2, 19)} | {5: 60, 6: 80, 7: 50}
    impact = measure(minutes(errors), WEEKLY)

    assert (impact.start, impact.end) == (T0 + timedelta(minutes=2), T0 + timedelta(minutes=19))
    assert impact.errors == 14 * 2 + 60 + 80 + 50 and impact.total == 17 * 1000
    assert sentence(impact, availability=WEEKLY) == (
        "1.3% of API requests failed between 10:02 and 10:19 UTC; 3 min of the weekly availability budget used "
        "(60% of 5.04 min).")


def test_no_failed_minute__says_so():
    impact = measure(minutes({}), WEEKLY)

    assert sentence(impact, availability=WEEKLY) == "No failed API requests measured in this period."


def test_no_availability_slo__sentence_without_budget():
    impact = measure(minutes({3: 10}), None)

    assert sentence(impact) == "1.0% of API requests failed between 10:03 and 10:04 UTC."
