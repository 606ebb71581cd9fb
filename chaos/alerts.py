"""Alerts about drills: the one place chaos hands a message to the portal's one routing path (send_alert).

A drill that did not complete (aborted, interrupted, failed, deviated) tells the portal-wide and the service's
channels, after the run's record is committed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def send_run_finished(run: Any) -> None:
    from governance.notifications import notify, send_alert

    severity = notify.Severity.CRITICAL if run.status in ("interrupted", "deviated") else notify.Severity.WARNING
    url = (settings.PORTAL_URL.rstrip("/") + reverse("admin:chaos_run_change", args=[run.pk])
           if settings.PORTAL_URL else None)
    message = notify.Message(
        severity=severity, title=f"Chaos drill {run.experiment.key} on {run.service.slug}@{run.environment.slug}: "
                                 f"{run.status}",
        text=run.verdict or run.status, fields={"run": str(run.pk), "environment": run.environment.slug}, url=url)
    send_alert(message, service_id=run.service_id)
