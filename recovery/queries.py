"""Reads that encode a recovery rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Max, Q, QuerySet

from recovery.models import BackupTarget, Drill

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LastPassed(TypedDict):
    last_passed: datetime | None


def overdue_targets(*, now: datetime, max_age_days: int) -> QuerySet[WithAnnotations[BackupTarget, LastPassed]]:
    """Enabled targets without a passed restore drill in the last `max_age_days` days, with `last_passed`.

    A target younger than that has not missed a monthly drill yet and is not listed.
    """
    cutoff = now - timedelta(days=max_age_days)
    passed = Q(drills__kind=Drill.Kind.RESTORE, drills__status=Drill.Status.PASSED)
    return (BackupTarget.objects.filter(enabled=True, created_at__lte=cutoff)
            .annotate(last_passed=Max("drills__finished_at", filter=passed))
            .filter(Q(last_passed__isnull=True) | Q(last_passed__lt=cutoff))
            .order_by("name"))


def timeline_drills(*, start: datetime, end: datetime, service_id: int | None) -> list[Any]:
    """governance.hooks.TIMELINE_EVENTS: drills and backups that started or finished in [start, end] on a target
    of the service (or the portal's own database)."""
    from governance.timeline import Entry

    scope = Q(target__service_id=service_id) | Q(target__service__isnull=True) if service_id is not None else Q()
    found = []
    for drill in (Drill.objects.filter(scope).filter(Q(started_at__range=(start, end))
                                                     | Q(finished_at__range=(start, end)))
                  .select_related("target", "requested_by")[:200]):
        who = drill.requested_by.get_username()
        if drill.started_at and start <= drill.started_at <= end:
            found.append(Entry(drill.started_at, "drill", f"{drill.kind} drill #{drill.pk} of {drill.target.name} "
                                                          "started", who, drill.reason, source="recovery"))
        if drill.finished_at and start <= drill.finished_at <= end:
            found.append(Entry(drill.finished_at, "drill", f"{drill.kind} drill #{drill.pk} of "
                                                           f"{drill.target.name} {drill.status}", who, drill.reason,
                               source="recovery"))
    return found
