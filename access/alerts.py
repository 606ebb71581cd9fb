"""Alerts of the access app: database access drift, failed reviews, overdue secrets.

`send` is the one place this app hands a message to the portal's one routing path
(`governance.notifications.send_alert`: routed by severity, deliveries recorded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.notifications import Message, Severity, send_alert

if TYPE_CHECKING:
    from access.models import AccessSnapshot, Secret

SOURCE = "governance-portal/access"


def send(message: Message, service_id: int | None) -> None:
    """Deliver through the portal-wide channels (and the service's own); logged, never raises."""
    send_alert(message, service_id=service_id)


def drift_found(snapshot: AccessSnapshot, new_items: list[dict]) -> Message:
    lines = [f"- {item['message']}" for item in new_items[:20]]
    if len(new_items) > 20:
        lines.append(f"- … and {len(new_items) - 20} more")
    return Message(
        severity=Severity.WARNING,
        title=f"Database access drift on {snapshot.target.name}: {len(snapshot.drift)} finding(s)",
        text="New since the previous review:\n" + "\n".join(lines)
        + "\nSee docs/SECURITY.md, section 'Database access review'.",
        fields={"Target": snapshot.target.name, "Snapshot": str(snapshot.pk),
                "Policy revision": str(snapshot.policy_revision), "Findings": str(len(snapshot.drift))},
        source=SOURCE,
    )


def review_failed(snapshot: AccessSnapshot) -> Message:
    return Message(
        severity=Severity.WARNING,
        title=f"Database access review of {snapshot.target.name} FAILED",
        text=snapshot.error + "\nThe database's access was not checked: see docs/SECURITY.md, 'Database access review'.",
        fields={"Target": snapshot.target.name, "Snapshot": str(snapshot.pk)},
        source=SOURCE,
    )


def secret_overdue(secret: Secret) -> Message:
    return Message(
        severity=Severity.WARNING,
        title=f"Secret overdue for rotation: {secret}",
        text=(f"{secret.name} ({secret.location}) was last rotated {secret.last_rotated_at:%Y-%m-%d}; its maximum age "
              f"is {secret.max_age_days} days (due {secret.due_at:%Y-%m-%d}). Owner: {secret.owner}. "
              f"Rotate it ({secret.runbook_url}) and record the rotation with a reason."),
        fields={"Secret": str(secret), "Owner": secret.owner, "Due": f"{secret.due_at:%Y-%m-%d %H:%M} UTC",
                "Runbook": secret.runbook_url},
        source=SOURCE,
    )
