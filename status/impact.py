"""The impact summary of an incident from per-minute SLI points (pure, no Django).

"0.8% of API requests failed between 10:02 and 10:19 UTC; 3 min of the weekly availability budget used (60% of
5.04 min)". The span runs from the first to the last minute with a failed request in the looked-at period; the
budget used counts the minutes the availability SLO counts as bad (error ratio at or over its slice threshold),
so the figure is the one the SLO itself will show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class MinuteCounts:
    minute: datetime
    total: int
    errors: int


@dataclass(frozen=True)
class Availability:
    """The availability SLO the budget is read from."""

    objective: Decimal
    window: timedelta
    slice_error_threshold: Decimal

    @property
    def budget_minutes(self) -> Fraction:
        return (1 - Fraction(self.objective)) * Fraction(int(self.window.total_seconds()), 60)


@dataclass(frozen=True)
class Impact:
    start: datetime | None
    end: datetime | None
    total: int
    errors: int
    bad_minutes: int
    budget_minutes: Fraction | None

    @property
    def failed_fraction(self) -> Fraction:
        return Fraction(self.errors, self.total) if self.total else Fraction(0)


def _window_name(window: timedelta) -> str:
    return {timedelta(days=7): "weekly", timedelta(days=1): "daily", timedelta(days=28): "28-day",
            timedelta(days=30): "30-day"}.get(window, f"{window.days}-day" if window.days else "window's")


def measure(points: Sequence[MinuteCounts], availability: Availability | None) -> Impact:
    failing = [p for p in points if p.errors > 0]
    if not failing:
        return Impact(None, None, sum(p.total for p in points), 0, 0,
                      availability.budget_minutes if availability else None)
    start, last = min(p.minute for p in failing), max(p.minute for p in failing)
    span = [p for p in points if start <= p.minute <= last]
    bad = 0
    if availability is not None:
        limit = Fraction(availability.slice_error_threshold)
        bad = sum(1 for p in span if p.total and Fraction(p.errors, p.total) >= limit)
    return Impact(start, last + timedelta(minutes=1), sum(p.total for p in span), sum(p.errors for p in span), bad,
                  availability.budget_minutes if availability else None)


def _minutes(value: Fraction | int) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def sentence(impact: Impact, *, what: str = "API requests", availability: Availability | None = None) -> str:
    """One sentence for a person to read (and edit) before anything is published."""
    if impact.start is None or impact.end is None:
        return f"No failed {what} measured in this period."
    text = (f"{float(impact.failed_fraction) * 100:.1f}% of {what} failed between {impact.start:%H:%M} and "
            f"{impact.end:%H:%M} UTC")
    if availability is not None and impact.budget_minutes:
        share = Fraction(impact.bad_minutes) / impact.budget_minutes * 100
        text += (f"; {_minutes(impact.bad_minutes)} min of the {_window_name(availability.window)} availability "
                 f"budget used ({float(share):.0f}% of {_minutes(impact.budget_minutes)} min)")
    return text + "."
