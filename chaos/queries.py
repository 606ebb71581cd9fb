"""Reads that encode a rule: active faults, drillable services, chaos-caused burn. Reads never write,
except `tag_sli_points`, the one writer of the SLI points' chaos tag (telemetry, called by services)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from chaos.models import Fault, Run

CAPABILITIES = ("chaos-http", "chaos-db")


def active_faults(*, service: Any = None, environment: Any = None, now: datetime | None = None) -> QuerySet[Fault]:
    faults = Fault.objects.active(now).select_related("service", "environment", "run").order_by("expires_at", "pk")
    if service is not None:
        faults = faults.filter(service=service)
    if environment is not None:
        faults = faults.filter(environment=environment)
    return faults


def drillable(*, service: Any, environment: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """Whether a live SDK instance of the service reports the chaos hooks (heartbeat `capabilities`).

    A service no live instance reports them for is "not drillable": its faults would reach nobody.
    """
    from flags.models import SdkInstance

    live_since = (now or timezone.now()) - timedelta(minutes=settings.FLAGS_INSTANCE_WINDOW_MINUTES)
    instances = SdkInstance.objects.filter(service=service, last_seen__gte=live_since)
    if environment is not None:
        instances = instances.filter(environment=environment)
    seen: set[str] = set()
    count = 0
    for capabilities in instances.values_list("capabilities", flat=True):
        count += 1
        seen.update(capabilities or ())
    return {"drillable": bool(seen & set(CAPABILITIES)), "capabilities": sorted(seen), "live_instances": count,
            "label": "drillable" if seen & set(CAPABILITIES) else "not drillable"}


def _fault_intervals(faults: QuerySet[Fault], now: datetime) -> list[tuple[int, int, datetime, datetime]]:
    rows = []
    for fault in faults.only("service_id", "environment_id", "created_at", "expires_at", "removed_at"):
        end = min(x for x in (fault.expires_at, fault.removed_at, now) if x is not None)
        rows.append((fault.service_id, fault.environment_id, fault.created_at, end))
    return rows


def tag_sli_points(faults: QuerySet[Fault], *, now: datetime | None = None) -> int:
    """Tag the SLI points of every minute a fault of `faults` was in force (idempotent)."""
    from observability.models import SliPoint

    now = now or timezone.now()
    tagged = 0
    for service_id, environment_id, start, end in _fault_intervals(faults, now):
        first = start.replace(second=0, microsecond=0)
        tagged += SliPoint.objects.filter(service_id=service_id, environment_id=environment_id, minute__gte=first,
                                          minute__lte=end, chaos=False).update(chaos=True)
    return tagged


def chaos_burn(*, service: Any, environment: Any, start: datetime, end: datetime) -> dict[str, int]:
    """Errors and events in [start, end], and the part recorded while a fault was in force."""
    from observability.models import SliPoint

    points = SliPoint.objects.filter(service=service, environment=environment, minute__gte=start, minute__lt=end)
    sums = points.aggregate(all_total=Sum("total"), all_errors=Sum("errors"),
                            chaos_total=Sum("total", filter=Q(chaos=True)),
                            chaos_errors=Sum("errors", filter=Q(chaos=True)))
    return {"total": int(sums["all_total"] or 0), "errors": int(sums["all_errors"] or 0),
            "chaos_total": int(sums["chaos_total"] or 0), "chaos_errors": int(sums["chaos_errors"] or 0)}


def runs_between(*, start: datetime, end: datetime, service: Any = None) -> QuerySet[Run]:
    runs = Run.objects.filter(created_at__gte=start, created_at__lt=end).select_related(
        "experiment", "service", "environment", "requested_by", "approved_by").order_by("created_at", "pk")
    return runs if service is None else runs.filter(service=service)
