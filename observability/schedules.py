"""The names and entries of the observability app's django-q2 schedules (read by apps.py and the checker)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

HOURLY_SCHEDULE = "observability: SLO check (alerting)"
NIGHTLY_SCHEDULE = "observability: SLO check (nightly full run)"
STALENESS_SCHEDULE = "observability: SLO check staleness"


def entries() -> list[dict[str, Any]]:
    return [
        {"name": HOURLY_SCHEDULE, "func": "observability.tasks.check_slos_hourly", "schedule_type": "I",
         "minutes": settings.SLO_CHECK_INTERVAL_MINUTES},
        {"name": NIGHTLY_SCHEDULE, "func": "observability.tasks.check_slos_nightly", "schedule_type": "C",
         "cron": settings.SLO_CHECK_NIGHTLY_CRON},
        {"name": STALENESS_SCHEDULE, "func": "observability.tasks.check_slo_schedule_staleness",
         "schedule_type": "I", "minutes": 15},
    ]
