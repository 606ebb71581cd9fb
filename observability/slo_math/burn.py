"""Multi-window multi-burn-rate alerts: the window pairs and their factors, burn rates, and the firing rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from observability.slo_math.budgets import _minute_counts, _sum_between, window_end
from observability.slo_math.definitions import SliPoint, SloDefinition

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
