"""Every django-q2 schedule of the portal, created idempotently by `manage.py ensure_schedules`.

Apps add their entries to SCHEDULES in AppConfig.ready(); each entry is keyed by its name.
"""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {"name": "core: scheduler heartbeat", "func": "governance.tasks.heartbeat", "schedule_type": "I", "minutes": 1},
    {"name": "core: purge idempotency keys", "func": "governance.tasks.purge_idempotency_records",
     "schedule_type": "H"},
    # A signed statement of the whole trail's chain head (docs/AUDIT.md: checkpoints)
    {"name": "core: audit checkpoint", "func": "governance.tasks.record_audit_checkpoint", "schedule_type": "H"},
]


def ensure_schedules() -> list[str]:
    """Create or update each schedule by name; returns the names touched."""
    from django_q.models import Schedule

    names = []
    for entry in SCHEDULES:
        fields = {k: v for k, v in entry.items() if k != "name"}
        Schedule.objects.update_or_create(name=entry["name"], defaults=fields)
        names.append(entry["name"])
    return names
