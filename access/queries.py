"""Reads of the access app that encode a rule."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from access.models import AccessSnapshot, Secret


def overdue_secrets(now: datetime) -> list[Secret]:
    """Secrets whose last rotation is older than their maximum age, most overdue first (the inventory is small)."""
    return sorted((s for s in Secret.objects.select_related("service") if s.is_overdue(now)), key=lambda s: s.due_at)


def latest_snapshots() -> QuerySet[AccessSnapshot]:
    """The newest review of each target."""
    return (AccessSnapshot.objects.select_related("target").order_by("target_id", "-taken_at", "-id")
            .distinct("target_id"))
