"""90-day uptime bars per component, from the SLI availability data (reads only).

A component shows its service's availability in the first production environment: per UTC day, good/total
requests summed over every source, minutes inside a declared maintenance window left out. A day is
- `nodata` when nothing was measured outside maintenance (never green: no evidence is not uptime),
- `maintenance` when a public maintenance window of the component (or of its whole service) overlapped it and
  the rest of the day met the objective,
- otherwise by its availability against the service's availability objective o (99.9% when it has none):
  >= o operational; >= 1 - 5(1 - o) degraded_performance; >= 1 - 25(1 - o) partial_outage; else major_outage.
The period's uptime is good/total over the measured minutes outside maintenance.

SLI points are kept SLI_RETENTION_DAYS (35 by default), fewer than the bars' 90 days: the nightly roll-up
(`roll_up`, task status.tasks.roll_up_uptime) stores each finished day as an `UptimeDay`, and the bars read those
for the days the points no longer cover (the live points win where both exist).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from governance.models import Environment, Service
from observability.models import SliPoint, Slo
from status.models import Component, Incident, IncidentUpdate, UptimeDay

DAYS = 90
DEFAULT_OBJECTIVE = Decimal("0.999")
LABEL = {"operational": "No downtime", "degraded_performance": "Degraded", "partial_outage": "Partial outage",
         "major_outage": "Major outage", "maintenance": "Maintenance", "nodata": "No data"}


@dataclass(frozen=True)
class Day:
    day: date
    state: str
    good: int
    total: int
    maintenance: bool

    @property
    def availability(self) -> Fraction | None:
        return Fraction(self.good, self.total) if self.total else None

    @property
    def label(self) -> str:
        """What a screen reader and the tooltip say, e.g. "2026-12-03: 99.95% available (maintenance)"."""
        parts = [f"{self.day.isoformat()}: "]
        share = self.availability
        parts.append(LABEL[self.state] if share is None else f"{float(share) * 100:.2f}% available")
        if self.maintenance and self.state != "maintenance":
            parts.append(" (maintenance)")
        elif self.maintenance and share is not None:
            parts.append(" (maintenance window)")
        return "".join(parts)


@dataclass(frozen=True)
class Bars:
    days: list[Day]

    @property
    def uptime(self) -> Fraction | None:
        total = sum(d.total for d in self.days)
        return Fraction(sum(d.good for d in self.days), total) if total else None

    @property
    def uptime_text(self) -> str:
        uptime = self.uptime
        return "no data" if uptime is None else f"{float(uptime) * 100:.2f}% uptime"

    def as_json(self) -> dict[str, object]:
        uptime = self.uptime
        return {"uptime": None if uptime is None else round(float(uptime), 6),
                "days": [{"date": d.day.isoformat(), "state": d.state, "good": d.good, "total": d.total,
                          "maintenance": d.maintenance} for d in self.days]}


def classify(good: int, total: int, *, maintenance: bool, objective: Decimal) -> str:
    if total == 0:
        return "maintenance" if maintenance else "nodata"
    share = Fraction(good, total)
    allowed = 1 - Fraction(objective)
    if share >= 1 - allowed:
        return "maintenance" if maintenance else "operational"
    if share >= 1 - 5 * allowed:
        return "degraded_performance"
    if share >= 1 - 25 * allowed:
        return "partial_outage"
    return "major_outage"


def _days(today: date, count: int) -> list[date]:
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def bars(days: Sequence[date], counts: dict[date, tuple[int, int]], windows: Iterable[tuple[datetime, datetime]],
         *, objective: Decimal) -> Bars:
    """Pure: the bars from per-day (good, total) outside maintenance and the component's maintenance windows."""
    windows = list(windows)
    result = []
    for day in days:
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        maintenance = any(s < end and e > start for s, e in windows)
        good, total = counts.get(day, (0, 0))
        result.append(Day(day, classify(good, total, maintenance=maintenance, objective=objective), good, total,
                          maintenance))
    return Bars(result)


def maintenance_windows(service: Service, since: datetime) -> list[tuple[datetime, datetime, set[int]]]:
    """Public maintenance windows of the service declared beforehand: (start, end, component ids; empty = all)."""
    rows = (Incident.objects.filter(service=service, kind=Incident.Kind.MAINTENANCE, public=True, published=True,
                                    scheduled_until__gt=since, scheduled_for__isnull=False)
            .prefetch_related("components"))
    return [(m.scheduled_for, m.scheduled_until, {c.pk for c in m.components.all()}) for m in rows
            if m.scheduled_for is not None and m.scheduled_until is not None]


def _environment() -> Environment | None:
    return Environment.objects.filter(is_production=True).order_by("order").first()


def service_counts(service: Service, environment: Environment, since: datetime,
                   windows: Sequence[tuple[datetime, datetime]]) -> dict[date, tuple[int, int]]:
    """Per UTC day (good, total) outside the maintenance windows: one grouped query."""
    qs = SliPoint.objects.filter(service=service, environment=environment, minute__gte=since)
    if windows:
        inside = Q()
        for start, end in windows:
            inside |= Q(minute__gte=start, minute__lt=end)
        qs = qs.annotate(in_window=Case(When(inside, then=Value(True)), default=Value(False))).filter(in_window=False)
    rows = (qs.annotate(day=TruncDate("minute", tzinfo=UTC)).values("day")
            .annotate(total=Sum("total"), errors=Sum("errors")).order_by())
    return {r["day"]: ((r["total"] or 0) - (r["errors"] or 0), r["total"] or 0) for r in rows}


def objective_for(service: Service, environment: Environment) -> Decimal:
    slo = (Slo.objects.filter(service=service, environment=environment, sli_type=Slo.SliType.AVAILABILITY,
                              enabled=True).order_by("name").first())
    return slo.objective if slo is not None else DEFAULT_OBJECTIVE


def for_components(components: Sequence[Component], *, days: int = DAYS,
                   now: datetime | None = None) -> dict[int, Bars]:
    """Bars per component id; one SLI query per service shown."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    day_list = _days(today, days)
    since = datetime.combine(day_list[0], time(), tzinfo=UTC)
    environment = _environment()
    result: dict[int, Bars] = {}
    by_service: dict[int, list[Component]] = {}
    for component in components:
        by_service.setdefault(component.service_id, []).append(component)
    for members in by_service.values():
        service = members[0].service
        windows = maintenance_windows(service, since)
        counts: dict[date, tuple[int, int]] = {}
        objective = DEFAULT_OBJECTIVE
        counts = {row.day: (row.good, row.total) for row in UptimeDay.objects.filter(service=service,
                                                                                       day__gte=day_list[0])}
        if environment is not None:
            counts.update(service_counts(service, environment, max(since, _live_since(now)),
                                         [(s, e) for s, e, _ in windows]))
            objective = objective_for(service, environment)
        for component in members:
            own = [(s, e) for s, e, ids in windows if not ids or component.pk in ids]
            result[component.pk] = bars(day_list, counts, own, objective=objective)
    return result


def _live_since(now: datetime) -> datetime:
    """The first whole UTC day the SLI points still cover completely."""
    oldest = now.astimezone(UTC) - timedelta(days=settings.SLI_RETENTION_DAYS)
    return datetime.combine(oldest.date() + timedelta(days=1), time(), tzinfo=UTC)


def roll_up(*, now: datetime | None = None, days: int = 3) -> int:
    """Store the last `days` finished UTC days of every service with SLI points in production (upsert: a late
    point or a window declared afterwards is taken in on the next night). Returns the rows written."""
    now = now or timezone.now()
    environment = _environment()
    if environment is None:
        return 0
    today = now.astimezone(UTC).date()
    first = datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)
    end = datetime.combine(today, time(), tzinfo=UTC)
    written = 0
    service_ids = set(SliPoint.objects.filter(environment=environment, minute__gte=first, minute__lt=end)
                      .values_list("service_id", flat=True).distinct())
    for service in Service.objects.filter(pk__in=service_ids):
        windows = [(s, e) for s, e, _ in maintenance_windows(service, first)]
        counts = {day: value for day, value in service_counts(service, environment, first, windows).items()
                  if day < today}
        with transaction.atomic():
            for day, (good, total) in counts.items():
                UptimeDay.objects.update_or_create(service=service, day=day,
                                                   defaults={"good": good, "total": total, "rolled_up_at": now})
                written += 1
    return written


def declared_maintenance(*, service_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """governance.hooks.MAINTENANCE_WINDOWS: the service's scheduled maintenance windows overlapping [start, end)
    that were declared before they began (a window entered afterwards never excuses an outage).

    A maintenance cancelled (completed without ever being in progress) excuses nothing, and one completed early
    ends at its completion, not at its scheduled end. (Moving a window into the past is refused by
    `reschedule_maintenance`.)"""
    S = Incident.Status
    ran = Exists(IncidentUpdate.objects.filter(incident=OuterRef("pk"), status__in=[S.IN_PROGRESS, S.VERIFYING]))
    rows = (Incident.objects.filter(service_id=service_id, kind=Incident.Kind.MAINTENANCE, published=True,
                                    scheduled_for__lt=end, scheduled_until__gt=start,
                                    created_at__lte=F("scheduled_for"))
            .exclude(Q(status=S.COMPLETED) & ~Q(ran))
            .values_list("scheduled_for", "scheduled_until", "resolved_at"))
    windows = []
    for s, e, resolved in rows:
        if s is None or e is None:
            continue
        if resolved is not None:
            e = max(s, min(e, resolved))
        if e > s:
            windows.append((s, e))
    return windows
