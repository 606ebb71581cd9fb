"""SLI point validation and the bulk upsert shared by the API, the portal's middleware and Prometheus imports.

Points are telemetry, not governed rows: they are written with one `INSERT ... ON CONFLICT DO UPDATE`
statement per batch (no history), and a retry of the same minute from the same source REPLACES the
stored counts, so resending a batch never counts a minute twice.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

MAX_POINTS_PER_REQUEST = 10_000
MAX_BUCKETS = 64
MAX_COUNT = 10**12  # per minute and source: keeps exact integer products in SQL inside bigint
SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}$")
RESERVED_SOURCE_PREFIX = "portal:"  # the portal's own per-process sources (observability.middleware)
POINT_FIELDS = {"minute", "total", "errors", "latency_buckets", "db_queries", "db_errors"}
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Point:
    """One validated minute: latency buckets as ascending bounds and cumulative counts."""

    minute: datetime
    total: int
    errors: int = 0
    latency_bounds: tuple[float, ...] = ()
    latency_counts: tuple[int, ...] = ()
    db_queries: int = 0
    db_errors: int = 0


@dataclass(frozen=True)
class UpsertResult:
    created: int
    replaced: int


def validate_source(source: str) -> str:
    if not isinstance(source, str) or not SOURCE_RE.match(source):
        raise ValidationError({"source": "1 to 100 characters: letters, digits and . _ : @ / - (starting with a letter "
                                         f"or digit), got {source!r}"})
    return source


def _count(raw: Mapping[str, Any], name: str, where: str, errors: dict[str, str]) -> int:
    value = raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors[f"{where}.{name}"] = f"must be a whole number >= 0, got {value!r}"
        return 0
    if value > MAX_COUNT:
        errors[f"{where}.{name}"] = f"is larger than {MAX_COUNT:,} per minute"
        return 0
    return value


def _minute(raw: Any, where: str, errors: dict[str, str], now: datetime, oldest: datetime) -> datetime | None:
    value = parse_datetime(raw) if isinstance(raw, str) else None
    if value is None:
        errors[f"{where}.minute"] = f"must be an ISO 8601 date-time such as 2025-03-10T12:07:00Z, got {raw!r}"
        return None
    if value.tzinfo is None:
        errors[f"{where}.minute"] = f"must carry a time zone (Z or +hh:mm), got {raw!r}"
        return None
    if value.second or value.microsecond:
        errors[f"{where}.minute"] = f"must be aligned to a whole minute (seconds = 0), got {raw!r}"
        return None
    if value > now + FUTURE_TOLERANCE:
        errors[f"{where}.minute"] = f"is in the future ({raw}); check the sender's clock"
        return None
    if value < oldest:
        errors[f"{where}.minute"] = (f"is older than the retention of {settings.SLI_RETENTION_DAYS} days "
                                     f"({raw}); it would be purged at once")
        return None
    return value


_Layout = tuple[tuple[float, ...], tuple[Any, ...]]  # ascending bounds, and the raw key of each


def _layout(keys: tuple[Any, ...]) -> _Layout | str:
    """Parse and order one set of bucket keys (senders repeat the same keys on every point, so it is cached)."""
    pairs: list[tuple[float, Any]] = []
    for bound_text in keys:
        if str(bound_text).lower() in ("+inf", "inf"):
            continue  # implicit: requests above the largest bound are total - the last count
        try:
            bound = float(bound_text)
        except (TypeError, ValueError):
            return f"bounds must be numbers of milliseconds, got {bound_text!r}"
        if not math.isfinite(bound) or bound <= 0:
            return f"bounds must be finite and positive, got {bound_text!r}"
        pairs.append((bound, bound_text))
    pairs.sort(key=lambda pair: pair[0])
    for index in range(1, len(pairs)):
        if pairs[index][0] == pairs[index - 1][0]:
            return f"bound {pairs[index][0]:g} is given twice"
    return tuple(b for b, _ in pairs), tuple(k for _, k in pairs)


def _buckets(raw: Any, total: int, where: str, errors: dict[str, str],
             layouts: dict[tuple[Any, ...], _Layout | str]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    if raw is None or raw == {}:
        return (), ()
    key = f"{where}.latency_buckets"
    if not isinstance(raw, Mapping):
        errors[key] = "must be an object {upper bound in ms: cumulative count}"
        return (), ()
    if len(raw) > MAX_BUCKETS:
        errors[key] = f"at most {MAX_BUCKETS} buckets, got {len(raw)}"
        return (), ()
    keys = tuple(raw)
    layout = layouts.get(keys)
    if layout is None:
        layout = layouts[keys] = _layout(keys)
    if isinstance(layout, str):
        errors[key] = layout
        return (), ()
    for inf in ("+Inf", "+inf", "inf", "Inf"):
        if inf in raw and raw[inf] != total:
            errors[key] = f"the +Inf bucket must equal total ({total}), got {raw[inf]!r}"
            return (), ()
    bounds, raw_keys = layout
    counts = []
    previous = 0
    for bound, raw_key in zip(bounds, raw_keys, strict=True):
        count = raw[raw_key]
        if type(count) is not int or count < 0:
            errors[key] = f"counts must be whole numbers >= 0, got {count!r} for bound {raw_key}"
            return (), ()
        if count < previous:
            errors[key] = (f"cumulative counts must not decrease with the bound: {count} at {bound:g} ms "
                           f"after {previous}")
            return (), ()
        previous = count
        counts.append(count)
    if previous > total:
        errors[key] = f"count {previous} at {bounds[-1]:g} ms exceeds total {total}"
        return (), ()
    return bounds, tuple(counts)


def parse_points(raw_points: Any, *, now: datetime | None = None) -> list[Point]:
    """Validate raw JSON points; raises ValidationError keyed `points[i].field` (at most 20 errors listed)."""
    if not isinstance(raw_points, list):
        raise ValidationError({"points": "must be a list of per-minute points"})
    if not raw_points:
        raise ValidationError({"points": "must not be empty"})
    if len(raw_points) > MAX_POINTS_PER_REQUEST:
        raise ValidationError({"points": f"at most {MAX_POINTS_PER_REQUEST:,} points per request, got "
                                         f"{len(raw_points):,}; split the batch into several requests"})
    now = now or timezone.now()
    oldest = now - timedelta(days=settings.SLI_RETENTION_DAYS)
    errors: dict[str, str] = {}
    points: list[Point] = []
    seen: dict[datetime, int] = {}
    layouts: dict[tuple[Any, ...], _Layout | str] = {}
    for index, raw in enumerate(raw_points):
        where = f"points[{index}]"
        if not isinstance(raw, Mapping):
            errors[where] = "must be an object"
            continue
        unknown = set(raw) - POINT_FIELDS
        if unknown:
            errors[where] = f"unknown field(s) {sorted(unknown)}; known: {sorted(POINT_FIELDS)}"
            continue
        if "minute" not in raw or "total" not in raw:
            errors[where] = "minute and total are required"
            continue
        minute = _minute(raw["minute"], where, errors, now, oldest)
        total = _count(raw, "total", where, errors)
        failed = _count(raw, "errors", where, errors)
        db_queries = _count(raw, "db_queries", where, errors)
        db_errors = _count(raw, "db_errors", where, errors)
        if failed > total:
            errors[f"{where}.errors"] = f"{failed} exceeds total {total}"
        if db_errors > db_queries:
            errors[f"{where}.db_errors"] = f"{db_errors} exceeds db_queries {db_queries}"
        bounds, counts = _buckets(raw.get("latency_buckets"), total, where, errors, layouts)
        if minute is not None:
            if minute in seen:
                errors[f"{where}.minute"] = f"{raw['minute']} is already given by points[{seen[minute]}]"
            seen[minute] = index
        if len(errors) >= 20:
            break
        if minute is not None:
            points.append(Point(minute, total, failed, bounds, counts, db_queries, db_errors))
    if errors:
        raise ValidationError(errors)
    return points


# One statement per batch: the rows travel as one jsonb parameter and PostgreSQL unpacks them
# (jsonb_to_recordset turns JSON arrays into float8[]/bigint[]; minutes travel as Unix seconds, exact for
# whole minutes). `xmax = 0` tells inserted rows from
# replaced ones. The conflict target is the unique (service, environment, minute, source) index.
_UPSERT = """
INSERT INTO observability_slipoint
    (service_id, environment_id, source, minute, total, errors, latency_bounds, latency_counts,
     db_queries, db_errors, received_at)
SELECT %(service)s, %(environment)s, %(source)s, to_timestamp(p.m), p.total, p.errors,
       coalesce(p.lb, '{}'), coalesce(p.lc, '{}'), p.dbq, p.dbe, %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb)
     AS p(m bigint, total bigint, errors bigint, lb float8[], lc bigint[], dbq bigint, dbe bigint)
ON CONFLICT (service_id, environment_id, minute, source) DO UPDATE SET
    total = EXCLUDED.total, errors = EXCLUDED.errors,
    latency_bounds = EXCLUDED.latency_bounds, latency_counts = EXCLUDED.latency_counts,
    db_queries = EXCLUDED.db_queries, db_errors = EXCLUDED.db_errors, received_at = EXCLUDED.received_at
RETURNING (xmax = 0)
"""


def upsert_points(*, service_id: int, environment_id: int, source: str, points: Sequence[Point]) -> UpsertResult:
    """Write points, replacing any stored row of the same minute and source (idempotent per minute)."""
    if not points:
        return UpsertResult(0, 0)
    rows = json.dumps([
        {"m": int(p.minute.timestamp()), "total": p.total, "errors": p.errors, "lb": list(p.latency_bounds),
         "lc": list(p.latency_counts), "dbq": p.db_queries, "dbe": p.db_errors}
        for p in points
    ])
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, {"service": service_id, "environment": environment_id, "source": source,
                                 "rows": rows, "now": timezone.now()})
        flags = [row[0] for row in cursor.fetchall()]
    created = sum(1 for flag in flags if flag)
    return UpsertResult(created=created, replaced=len(flags) - created)
