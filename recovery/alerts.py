"""Disaster-recovery alerts: failed drills, failed backups and drills that missed their schedule.

Routed like every alert of the portal (governance.notifications: NotificationChannel rows by severity, each
delivery recorded). DR_ALERT_WEBHOOK_URL / DR_ALERT_WEBHOOK_SECRET still work (deprecated): an implicit signed
webhook channel that takes the DR alerts only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from governance.notifications.notify import Message, Severity
from governance.notifications.routing import DR_SOURCE, Delivery, send_alert

if TYPE_CHECKING:
    from recovery.models import Backup, BackupTarget, Drill

logger = logging.getLogger(__name__)
SOURCE = DR_SOURCE


def send(message: Message) -> list[Delivery]:
    """Deliver one DR alert through the portal's one routing path; never raises (failures are recorded)."""
    return send_alert(message)


def drill_failed(drill: Drill) -> Message:
    failing = drill.failing_verdicts()
    lines = [f"{v['layer']}: {v['summary']}" for v in failing] or [drill.error or "no verdict recorded"]
    return Message(
        severity=Severity.CRITICAL,
        title=f"DR drill #{drill.pk} FAILED: {drill.scope}", dedup_key=f"dr:drill:{drill.pk}",
        text="\n".join(lines) + "\nSee docs/DR.md, section 'When a drill fails'.",
        fields={
            "Drill": str(drill.pk),
            "Kind": drill.kind,
            "Target": drill.target.name,
            "Failed layers": ", ".join(v["layer"] for v in failing) or "—",
            "Report": f"/api/v1/drills/{drill.pk}/report.md",
        },
        source=SOURCE,
    )


def backup_failed(backup: Backup) -> Message:
    return Message(
        severity=Severity.CRITICAL,
        title=f"DR backup #{backup.pk} of {backup.target.name} FAILED", dedup_key=f"dr:backup:{backup.pk}",
        text=backup.error + "\nSee docs/DR.md, section 'When a drill fails'.",
        fields={"Backup": str(backup.pk), "Target": backup.target.name},
        source=SOURCE,
    )


def drill_overdue(target: BackupTarget, last_passed: datetime | None, max_age_days: int) -> Message:
    since = f"the last one passed at {last_passed.isoformat()}" if last_passed else "no restore drill ever passed"
    return Message(
        severity=Severity.WARNING,
        title=f"DR drill missed its schedule: {target.name}", dedup_key=f"dr:overdue:{target.pk}",
        text=(f"Target {target.name} has had no passed restore drill in the last {max_age_days} days ({since}). "
              "Check the monthly drill schedule and the worker, then run one: "
              f"govctl drill run --target {target.name} --reason '…' --wait"),
        fields={"Target": target.name, "Last passed drill": last_passed.isoformat() if last_passed else "never"},
        source=SOURCE,
    )
