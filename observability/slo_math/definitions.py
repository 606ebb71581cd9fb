"""SLO definitions and SLI points, validated on construction, and the good/total events one minute gives.

Latency histograms are Prometheus-style cumulative `le` buckets: `{upper_bound_ms: count of
requests with latency <= upper_bound_ms}`; the implicit `+Inf` bucket is `SliPoint.total`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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


@dataclass(frozen=True)
class SloDefinition:
    """One SLO of one service in one environment.

    `objective` is the target share of good events (Decimal in (0, 1), e.g. Decimal("0.999")).
    `min_events`: below this many events (slices for availability) in the window no verdict is given.
    `threshold_ms` is required for latency SLOs only; `slice_error_threshold` for availability only
    (a one-minute slice is good when its error ratio is strictly below it).
    `exclude_maintenance`: leave declared maintenance windows out of the SLI. The maths never reads it (the
    windows are Django-side data); it is here so every carrier of a definition (OpenSLO, import) keeps it.
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
    exclude_maintenance: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name: must not be empty")
        if not isinstance(self.exclude_maintenance, bool):
            raise ValueError(f"exclude_maintenance: must be true or false, got {self.exclude_maintenance!r}")
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
