"""The SLO section of an evidence pack (hooks.EVIDENCE_SECTIONS["slo"]): every SLO snapshot taken in the range
(hourly, nightly, manual, and those around production deployments), with the objective and window copied at the
time, the budget left and the burn rates; and the SLO alerts opened in the range. Reads only."""

from __future__ import annotations

from datetime import datetime

from governance.evidence_pack import json_file, rows
from governance.models import Service
from observability.models import SloAlert, SloSnapshot

SNAPSHOT_FIELDS = ("id", "slo__service__slug", "slo__environment__slug", "slo__name", "kind", "taken_at", "window_end",
                   "deployment_id", "objective", "window_minutes", "good", "total", "verdict", "compliance",
                   "budget_remaining", "budget_remaining_fraction", "burn_rates", "error")


def section(*, start: datetime, end: datetime, service: Service | None) -> dict[str, bytes]:
    snapshots = SloSnapshot.objects.filter(taken_at__gte=start, taken_at__lt=end).order_by("taken_at", "id")
    alerts = SloAlert.objects.filter(opened_at__gte=start, opened_at__lt=end).order_by("opened_at", "id")
    if service is not None:
        snapshots, alerts = snapshots.filter(slo__service=service), alerts.filter(service=service)
    alert_fields = [f.attname for f in SloAlert._meta.concrete_fields]
    return {
        "snapshots.json": json_file({"range": {"from": start, "to": end}, "snapshots": rows(snapshots,
                                                                                          *SNAPSHOT_FIELDS)}),
        "alerts.json": json_file({"range": {"from": start, "to": end}, "alerts": rows(alerts, *alert_fields)}),
    }
