"""Disaster-recovery alerts: failed drills, failed backups and drills that missed their schedule.

Delivered as signed generic webhooks through observability's notification router (a pure module:
HMAC-SHA256 of the raw body in `X-Governance-Signature`, retries on 429/5xx). Configured by
DR_ALERT_WEBHOOK_URL and DR_ALERT_WEBHOOK_SECRET; unset URL = logged only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from observability.notify import ChannelConfig, ChannelKind, DeliveryResult, Message, Router, Severity

if TYPE_CHECKING:
    from recovery.models import Backup, BackupTarget, Drill

logger = logging.getLogger(__name__)
SOURCE = "governance-portal/recovery"


def send(message: Message) -> list[DeliveryResult]:
    """Deliver one alert; never raises (a failed delivery is logged and returned)."""
    url = settings.DR_ALERT_WEBHOOK_URL
    if not url:
        logger.warning("DR alert not delivered (DR_ALERT_WEBHOOK_URL is unset): %s", message.title)
        return []
    channel = ChannelConfig(kind=ChannelKind.WEBHOOK, url=url, secret=settings.DR_ALERT_WEBHOOK_SECRET,
                            name="dr-alerts")
    try:
        with Router([channel], max_attempts=3, backoff_base=0.5, backoff_max=4.0) as router:
            results = router.send(message)
    except Exception:  # noqa: BLE001 - an alert must never break the drill that raised it
        logger.exception("DR alert delivery crashed: %s", message.title)
        return []
    for result in results:
        if not result.delivered:
            logger.error("DR alert not delivered to %s after %s attempt(s): %s (%s)", result.channel,
                         result.attempts, message.title, result.error)
    return results


def drill_failed(drill: Drill) -> Message:
    failing = drill.failing_verdicts()
    lines = [f"{v['layer']}: {v['summary']}" for v in failing] or [drill.error or "no verdict recorded"]
    return Message(
        severity=Severity.CRITICAL,
        title=f"DR drill #{drill.pk} FAILED: {drill.scope}",
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
        title=f"DR backup #{backup.pk} of {backup.target.name} FAILED",
        text=backup.error + "\nSee docs/DR.md, section 'When a drill fails'.",
        fields={"Backup": str(backup.pk), "Target": backup.target.name},
        source=SOURCE,
    )


def drill_overdue(target: BackupTarget, last_passed: datetime | None, max_age_days: int) -> Message:
    since = f"the last one passed at {last_passed.isoformat()}" if last_passed else "no restore drill ever passed"
    return Message(
        severity=Severity.WARNING,
        title=f"DR drill missed its schedule: {target.name}",
        text=(f"Target {target.name} has had no passed restore drill in the last {max_age_days} days ({since}). "
              "Check the monthly drill schedule and the worker, then run one: "
              f"govctl drill run --target {target.name} --reason '…' --wait"),
        fields={"Target": target.name, "Last passed drill": last_passed.isoformat() if last_passed else "never"},
        source=SOURCE,
    )
