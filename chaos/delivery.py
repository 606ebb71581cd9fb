"""Faults in flag snapshots: the chaos member of every snapshot body (governance.hooks.SNAPSHOT_MEMBERS).

`faults` lists the faults in force for (service, environment), oldest first, each with its expiry; an
expired or removed fault never appears (flags.delivery also drops one whose expiry passes after the body
was built, and a pending break-glass halt empties the list). The revision grows by the number of fault
events (each creation and each removal) of the target, so a fault change is a new revision, pushed like a
flag change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from chaos.models import Fault
from governance.models import Environment, Service


def snapshot_members(*, service: Service, environment: Environment, now: datetime) -> tuple[dict[str, Any], int]:
    rows = Fault.objects.filter(service=service, environment=environment)
    counts = rows.aggregate(created=Count("pk"), removed=Count("pk", filter=Q(removed_at__isnull=False)))
    if not counts["created"]:
        return {"faults": []}, 0
    active = rows.active(now).order_by("created_at", "pk")
    return {"faults": [fault.snapshot_entry() for fault in active]}, counts["created"] + counts["removed"]
