"""Reads that encode a recovery rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

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
