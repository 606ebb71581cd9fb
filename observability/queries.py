"""Reads that encode a rule: SLO figures from one SQL aggregate per (service, environment), burn-down buckets.

The SQL only sums good and total events per window; every verdict (budget, burn-rate alerts,
burn-down) is decided by the pure `slo_math` functions on those sums, so the database path and the
in-memory path cannot disagree (tests/observability/test_checker.py compares them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from governance import hooks
from observability import prometheus, slo_math
from observability.models import Slo, SloAlert, SloSnapshot

HOUR = timedelta(hours=1)


@dataclass
class SloStatus:
    """What one SLO looks like at `window_end`: the budget, the alert decisions, or why there are no figures."""

    slo: Slo
    definition: slo_math.SloDefinition
    window_end: datetime
    counts: dict[timedelta, tuple[int, int]] = field(default_factory=dict)
    report: slo_math.BudgetReport | None = None
    decisions: list[slo_math.AlertDecision] = field(default_factory=list)
    error: str = ""
    excluded: list[tuple[datetime, datetime]] = field(default_factory=list)  # maintenance windows left out

    @property
    def excluded_minutes(self) -> int:
        """Minutes of declared maintenance left out of the SLO's window (exclude_maintenance)."""
        start = self.window_end - self.definition.window
        return sum(max(0, int((min(e, self.window_end) - max(s, start)) / timedelta(minutes=1)))
                   for s, e in self.excluded)

    @property
    def exhausted(self) -> bool:
        """No budget left, judged only on enough data (below the minimum there is no verdict)."""
        report = self.report
        return (report is not None and report.verdict is not slo_math.Verdict.INSUFFICIENT_DATA
                and report.remaining <= 0)

    def figures(self) -> dict[str, Any]:
        """Plain JSON figures (for gate details, snapshots summaries and the API)."""
        report = self.report
        return {
            "slo": self.slo.name,
            "slo_id": self.slo.pk,
            "environment": self.definition.environment,
            "objective": str(self.definition.objective),
            "window": slo_math_window(self.definition.window),
            "good": report.good if report else None,
            "total": report.total if report else None,
            "compliance": _float(report.compliance) if report else None,
            "budget_remaining": _float(report.remaining) if report else None,
            "budget_remaining_fraction": _float(report.remaining_fraction) if report else None,
            "verdict": report.verdict.value if report else None,
            "maintenance_excluded": self.slo.exclude_maintenance,
            "maintenance_excluded_minutes": self.excluded_minutes,
            "error": self.error,
        }


def slo_math_window(delta: timedelta) -> str:
    minutes = int(delta / timedelta(minutes=1))
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------------------------------------
# SQL: sums of good and total events per SLO and window
# ---------------------------------------------------------------------------------------------


@dataclass
class _Sql:
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"


def _sli_source(sql: _Sql, definitions: Sequence[slo_math.SloDefinition], *, service_id: int,
                environment_id: int, start: datetime, end: datetime,
                excluded: Sequence[tuple[datetime, datetime]] = ()) -> tuple[str, list[tuple[str, str]]]:
    """A sub-select of per-minute columns of one service in one environment and, per definition, its
    (good, total) expressions over them. Only the columns the definitions read are computed.

    Sources are summed per minute only when an availability SLO needs whole-minute slices; the
    other SLIs are additive, so they read the rows directly.
    """
    # SloDefinition requires a threshold on latency SLOs, and refuses one on the others
    thresholds = sorted({d.threshold_ms for d in definitions if d.threshold_ms is not None})
    grouped = any(d.sli_type is slo_math.SliType.AVAILABILITY for d in definitions)
    needed: dict[str, str] = {}
    expressions = []
    for d in definitions:
        if d.sli_type is slo_math.SliType.REQUEST_SUCCESS:
            needed.update(total="total", errors="errors")
            expressions.append(("total - errors", "total"))
        elif d.sli_type is slo_math.SliType.LATENCY:
            assert d.threshold_ms is not None  # SloDefinition requires it for latency
            i = thresholds.index(d.threshold_ms)
            needed["lat_total"] = "CASE WHEN cardinality(latency_bounds) > 0 THEN total ELSE 0 END"
            needed[f"lat_good_{i}"] = (f"coalesce(latency_counts[width_bucket({sql.param(float(d.threshold_ms))}"
                                       f"::float8, latency_bounds)], 0)")
            expressions.append((f"lat_good_{i}", "lat_total"))
        elif d.sli_type is slo_math.SliType.DATABASE_ERRORS:
            needed.update(dbq="db_queries", dbe="db_errors")
            expressions.append(("dbq - dbe", "dbq"))
        else:
            # Exact in integers: errors / total < p / q  <=>  errors * q < p * total (counts are capped at
            # sli.MAX_COUNT, so the products stay far inside bigint).
            ratio = Fraction(d.slice_error_threshold or slo_math.DEFAULT_SLICE_ERROR_THRESHOLD)
            p, q = sql.param(ratio.numerator), sql.param(ratio.denominator)
            needed.update(total="total", errors="errors")
            expressions.append((f"CASE WHEN total > 0 AND errors * {q}::bigint < {p}::bigint * total THEN 1 ELSE 0 END",
                                "CASE WHEN total > 0 THEN 1 ELSE 0 END"))
    if grouped:
        select = ", ".join(f"sum({expr})::bigint AS {name}" for name, expr in needed.items())
        tail = " GROUP BY minute"
    else:
        select = ", ".join(f"{expr} AS {name}" for name, expr in needed.items())
        tail = ""
    # An index range scan of (service, environment, minute, source), already ordered by minute.
    source = (f"SELECT minute, {select} FROM observability_slipoint WHERE service_id = {sql.param(service_id)} "
              f"AND environment_id = {sql.param(environment_id)} AND minute >= {sql.param(start)} "
              f"AND minute < {sql.param(end)}"
              + "".join(f" AND NOT (minute >= {sql.param(s)} AND minute < {sql.param(e)})" for s, e in excluded)
              + tail)
    return source, expressions


def window_counts(definitions: Sequence[slo_math.SloDefinition], *, service_id: int, environment_id: int,
                  end: datetime, excluded: Sequence[tuple[datetime, datetime]] = ()
                  ) -> list[dict[timedelta, tuple[int, int]]]:
    """For each definition (all of one service and environment), (good, total) per needed window: ONE query.

    Minutes are summed into buckets between consecutive window starts (`width_bucket` over the sorted
    starts), so each (good, total) is summed once per row whatever the number of windows; each window's
    counts are then the exact integer sum of its buckets.
    """
    if not definitions:
        return []
    needed = [slo_math.windows_needed(d) for d in definitions]
    lengths = sorted({w for windows in needed for w in windows}, reverse=True)  # longest first = earliest start
    sql = _Sql()
    source, expressions = _sli_source(sql, definitions, service_id=service_id, environment_id=environment_id,
                                      start=end - lengths[0], end=end, excluded=excluded)
    starts = sql.param([end - w for w in lengths])
    sums = ", ".join(f"coalesce(sum({g}), 0)::bigint, coalesce(sum({t}), 0)::bigint" for g, t in expressions)
    query = f"SELECT width_bucket(minute, {starts}::timestamptz[]) AS bucket, {sums} FROM ({source}) AS m GROUP BY 1"
    with connection.cursor() as cursor:
        cursor.execute(query, sql.params)
        # Bucket b (1-based) holds the minutes from the start of lengths[b - 1] up to the next start (or `end`).
        buckets = {row[0]: tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}
    position = {w: i + 1 for i, w in enumerate(lengths)}
    counts = []
    for i, windows in enumerate(needed):
        per_window = {}
        for w in windows:
            inside = [v for b, v in buckets.items() if b >= position[w]]
            per_window[w] = (sum(v[2 * i] for v in inside), sum(v[2 * i + 1] for v in inside))
        counts.append(per_window)
    return counts


def burndown_step(windows: Iterable[timedelta]) -> timedelta:
    """The chart's step: one hour, or the largest divisor of every window below it (so moments align)."""
    minutes = 60
    for window in windows:
        minutes = math.gcd(minutes, int(window / timedelta(minutes=1)))
    return timedelta(minutes=minutes)


def burndown_buckets(definitions: Sequence[slo_math.SloDefinition], *, service_id: int, environment_id: int,
                     end: datetime, step: timedelta, excluded: Sequence[tuple[datetime, datetime]] = ()
                     ) -> list[list[tuple[datetime, int, int]]]:
    """Per definition, (bucket start, good, total) rows of `step` buckets aligned on `end`: ONE query."""
    if not definitions:
        return []
    longest = max(d.window for d in definitions)
    sql = _Sql()
    source, expressions = _sli_source(sql, definitions, service_id=service_id, environment_id=environment_id,
                                      start=end - longest, end=end, excluded=excluded)
    end_param = sql.param(end)
    step_param = sql.param(int(step.total_seconds()))
    bucket = f"(ceil(extract(epoch FROM ({end_param} - minute)) / {step_param})::int - 1)"
    sums = ", ".join(f"coalesce(sum({g}), 0)::bigint, coalesce(sum({t}), 0)::bigint" for g, t in expressions)
    query = f"SELECT {bucket} AS bucket, {sums} FROM ({source}) AS m GROUP BY 1 ORDER BY 1"
    with connection.cursor() as cursor:
        cursor.execute(query, sql.params)
        rows = cursor.fetchall()
    result: list[list[tuple[datetime, int, int]]] = [[] for _ in definitions]
    for row in rows:
        index = row[0]
        start_of_bucket = end - (index + 1) * step
        for i, d in enumerate(definitions):
            if start_of_bucket >= end - d.window:
                result[i].append((start_of_bucket, int(row[1 + 2 * i]), int(row[2 + 2 * i])))
    return result


# ---------------------------------------------------------------------------------------------
# SLO status
# ---------------------------------------------------------------------------------------------


def _prometheus_client() -> prometheus.PrometheusClient:
    if not settings.PROMETHEUS_URL:
        raise prometheus.PrometheusError("PROMETHEUS_URL is not set, but this SLO reads from Prometheus")
    return prometheus.PrometheusClient(settings.PROMETHEUS_URL)


def maintenance_windows(service_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The declared maintenance windows overlapping [start, end) (governance.hooks.MAINTENANCE_WINDOWS)."""
    windows: list[tuple[datetime, datetime]] = []
    for provider in hooks.MAINTENANCE_WINDOWS:
        windows.extend(provider(service_id=service_id, start=start, end=end))
    return sorted(windows)


def _finish(status: SloStatus) -> SloStatus:
    d = status.definition
    good, total = status.counts[d.window]
    status.report = slo_math.compute_budget(d.objective, good, total, min_events=d.min_events)
    status.decisions = slo_math.decide_burn_alerts(d, status.counts)
    return status


def slo_statuses(slos: Iterable[Slo], *, now: datetime | None = None,
                 prometheus_client: prometheus.PrometheusClient | None = None) -> list[SloStatus]:
    """Budget and alert decisions for each SLO: one SQL aggregate per (service, environment) of SLI-point SLOs.

    `slos` should come with service and environment selected (see `slos_for_check`).
    """
    end = slo_math.window_end(now or timezone.now())
    statuses: list[SloStatus] = []
    groups: dict[tuple[int, int, bool], list[SloStatus]] = defaultdict(list)
    for slo in slos:
        try:
            status = SloStatus(slo=slo, definition=slo.definition(), window_end=end)
        except ValueError as exc:
            placeholder = slo_math.SloDefinition(name=slo.name or "invalid", sli_type=slo_math.SliType.REQUEST_SUCCESS,
                                                 objective=Decimal("0.5"), window=HOUR, min_events=0,
                                                 environment=slo.environment.slug, service=slo.service.slug)
            statuses.append(SloStatus(slo=slo, definition=placeholder, window_end=end, error=f"invalid SLO: {exc}"))
            continue
        statuses.append(status)
        if slo.source == Slo.Source.PROMETHEUS:
            try:
                client = prometheus_client or _prometheus_client()
                status.counts = client.window_counts(slo.prometheus_good_query, slo.prometheus_total_query,
                                                     slo_math.windows_needed(status.definition), end)
            except (prometheus.PrometheusError, ValueError) as exc:
                status.error = str(exc)
                continue
            _finish(status)
        else:
            groups[(slo.service_id, slo.environment_id, slo.exclude_maintenance)].append(status)
    for (service_id, environment_id, exclude), members in groups.items():
        excluded = maintenance_windows(service_id, end - max(m.definition.window for m in members), end) \
            if exclude else []
        counts = window_counts([m.definition for m in members], service_id=service_id,
                               environment_id=environment_id, end=end, excluded=excluded)
        for member, member_counts in zip(members, counts, strict=True):
            member.counts = member_counts
            member.excluded = excluded
            _finish(member)
    return statuses


def burndown_series(statuses: Sequence[SloStatus], *,
                    prometheus_client: prometheus.PrometheusClient | None = None
                    ) -> dict[int, list[tuple[datetime, Fraction]]]:
    """{slo id: remaining-budget series} for the admin chart: one bucket query per (service, environment)."""
    series: dict[int, list[tuple[datetime, Fraction]]] = {}
    groups: dict[tuple[int, int, bool], list[SloStatus]] = defaultdict(list)
    for status in statuses:
        if status.error:
            continue
        if status.slo.source == Slo.Source.PROMETHEUS:
            d = status.definition
            step = burndown_step([d.window])
            try:
                client = prometheus_client or _prometheus_client()
                rows = client.bucket_counts(status.slo.prometheus_good_query, status.slo.prometheus_total_query,
                                            status.window_end - d.window, status.window_end, step)
            except (prometheus.PrometheusError, ValueError):
                continue
            series[status.slo.pk] = slo_math.burndown_from_rows(d.objective, status.window_end - d.window,
                                                                status.window_end, rows, step)
            continue
        groups[(status.slo.service_id, status.slo.environment_id, status.slo.exclude_maintenance)].append(status)
    for (service_id, environment_id, _), members in groups.items():
        definitions = [m.definition for m in members]
        step = burndown_step(d.window for d in definitions)
        end = members[0].window_end
        buckets = burndown_buckets(definitions, service_id=service_id, environment_id=environment_id, end=end,
                                   step=step, excluded=members[0].excluded)
        for member, rows in zip(members, buckets, strict=True):
            d = member.definition
            series[member.slo.pk] = slo_math.burndown_from_rows(d.objective, end - d.window, end, rows, step)
    return series


def slos_for_check(*, slo_ids: Iterable[int] | None = None) -> QuerySet[Slo]:
    """Enabled SLOs to evaluate, with service and environment joined (no per-row queries)."""
    qs = Slo.objects.filter(enabled=True).select_related("service", "environment")
    if slo_ids is not None:
        qs = qs.filter(pk__in=list(slo_ids))
    return qs.order_by("service_id", "environment_id", "name")


def chaos_points(*, service_id: int, start: datetime, end: datetime) -> list[tuple[int, datetime, int, int]]:
    """(environment id, minute, requests, errors) of the SLI points in [start, end) recorded while a chaos fault was
    in force (SliPoint.chaos, tagged by the chaos app; few rows): budget reports show this burn apart. ONE query."""
    from observability.models import SliPoint

    return list(SliPoint.objects.filter(service_id=service_id, chaos=True, minute__gte=start, minute__lt=end)
                .values_list("environment_id", "minute", "total", "errors"))


def chaos_events(points: Sequence[tuple[int, datetime, int, int]], *, environment_id: int, start: datetime,
                 end: datetime) -> dict[str, int]:
    inside = [p for p in points if p[0] == environment_id and start <= p[1] < end]
    return {"total": sum(p[2] for p in inside), "errors": sum(p[3] for p in inside)}


def open_alerts() -> QuerySet[SloAlert]:
    return SloAlert.objects.filter(resolved_at__isnull=True)


def snapshots_for_deployment(deployment_id: int) -> dict[str, Any]:
    """The SLO snapshots before and after one deployment, and the change of each SLO's remaining budget.

    {"deployment_id", "before": [...], "after": [...], "after_pending": bool, "changes": [{slo, environment,
    before, after, delta}]} with each snapshot as plain figures; for the deploy summary.
    """
    snapshots = list(SloSnapshot.objects.filter(deployment_id=deployment_id)
                     .select_related("slo__environment").order_by("slo__name", "kind"))

    def plain(s: SloSnapshot) -> dict[str, Any]:
        return {"slo": s.slo.name, "slo_id": s.slo_id, "environment": s.slo.environment.slug,
                "taken_at": s.taken_at.isoformat(), "window_end": s.window_end.isoformat(), "good": s.good,
                "total": s.total, "compliance": s.compliance, "budget_remaining": s.budget_remaining,
                "budget_remaining_fraction": s.budget_remaining_fraction, "verdict": s.verdict,
                "burn_rates": s.burn_rates, "error": s.error}

    before = {s.slo_id: s for s in snapshots if s.kind == SloSnapshot.Kind.DEPLOY_BEFORE}
    after = {s.slo_id: s for s in snapshots if s.kind == SloSnapshot.Kind.DEPLOY_AFTER}
    changes = []
    for slo_id, b in before.items():
        a = after.get(slo_id)
        delta = None
        if a is not None and a.budget_remaining_fraction is not None and b.budget_remaining_fraction is not None:
            delta = a.budget_remaining_fraction - b.budget_remaining_fraction
        changes.append({"slo": b.slo.name, "environment": b.slo.environment.slug,
                        "before": b.budget_remaining_fraction, "after": a.budget_remaining_fraction if a else None,
                        "delta": delta, "verdict_before": b.verdict, "verdict_after": a.verdict if a else None})
    return {
        "deployment_id": deployment_id,
        "before": [plain(s) for s in before.values()],
        "after": [plain(s) for s in after.values()],
        "after_pending": bool(before) and not after,
        "changes": changes,
    }


def _percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f}%"


def deploy_summary_section(*, release: Any, deployments: list[Any]) -> str:
    """governance.hooks.SUMMARY_SECTIONS: the error budget before and after each production deployment."""
    rows = []
    for deployment in deployments:
        if not deployment.environment.is_production:
            continue
        figures = snapshots_for_deployment(deployment.pk)
        for change in figures["changes"]:
            after = _percent(change["after"]) if change["after"] is not None else "pending"
            delta = "—" if change["delta"] is None else f"{change['delta'] * 100:+.1f} pts"
            rows.append(f"| {deployment.pk} | {change['slo']} | {_percent(change['before'])} "
                        f"({change['verdict_before']}) | {after} | {delta} |")
    if not rows:
        return ""
    header = ["## SLOs around production deployments", "",
              "Error budget remaining before the deployment and SLO_SNAPSHOT_AFTER_MINUTES after it.", "",
              "| deployment | SLO | before | after | change |", "|---|---|---|---|---|"]
    return "\n".join(header + rows)


def timeline_alerts(*, start: datetime, end: datetime, service_id: int | None) -> list[Any]:
    """governance.hooks.TIMELINE_EVENTS: alerts other apps raised through the routing path (DR, releases, chaos,
    incident reminders: deliveries without an SLO alert), one entry per message."""
    from governance.timeline import Entry
    from observability.models import NotificationDelivery

    seen: set[tuple[str, str]] = set()
    found = []
    rows = (NotificationDelivery.objects.filter(alert__isnull=True, sent_at__range=(start, end))
            .exclude(source="governance-portal/status").order_by("sent_at")[:500])
    for row in rows:
        key = (row.title, row.sent_at.strftime("%Y%m%d%H%M"))
        if key in seen:
            continue
        seen.add(key)
        found.append(Entry(row.sent_at, "alert", f"[{row.severity or '?'}] {row.title}", row.source or "—",
                           "sent to the notification channels", source="notifications"))
    return found
