"""Evidence-pack sections (governance.hooks.EVIDENCE_SECTIONS): access reviews and the secrets inventory. Reads only.

File names are relative to the section's folder (the pack puts them under `access-reviews/` and `secrets-inventory/`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from access.models import AccessSnapshot, Secret, SecretRotation
from governance.models import Service


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1, default=str).encode()


def access_reviews(*, start: datetime, end: datetime, service: Service | None = None) -> dict[str, bytes]:
    """Every database access review in [start, end): status, policy revision, drift, changes since the previous."""
    rows = AccessSnapshot.objects.filter(taken_at__gte=start, taken_at__lt=end).select_related("target", "taken_by")
    if service is not None:
        rows = rows.filter(target__service=service)
    reviews = [{
        "id": s.pk, "target": s.target.name, "taken_at": s.taken_at.isoformat(), "status": s.status,
        "policy_revision": s.policy_revision, "snapshot_sha256": s.digest, "drift": s.drift, "changes": s.changes,
        "error": s.error, "taken_by": s.taken_by.username, "reason": s.reason,
    } for s in rows.order_by("taken_at", "id")]
    lines = ["# Database access reviews", "", f"{start.isoformat()} – {end.isoformat()}", "",
             "| taken at | target | status | policy rev. | findings | changes since previous |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['taken_at']} | {r['target']} | {r['status']} | {r['policy_revision']} | {len(r['drift'])} | "
              f"{len(r['changes'])} |" for r in reviews]
    for r in reviews:
        if r["drift"]:
            lines += ["", f"## #{r['id']} {r['target']} ({r['taken_at']})", ""]
            lines += [f"- `{d['code']}` {d['message']}" for d in r["drift"]]
    return {"reviews.json": _json(reviews), "report.md": ("\n".join(lines) + "\n").encode()}


def secrets_inventory(*, start: datetime, end: datetime, service: Service | None = None) -> dict[str, bytes]:
    """The inventory as of now (never values) and the rotations recorded in [start, end)."""
    secrets = Secret.objects.select_related("service")
    rotations = SecretRotation.objects.filter(recorded_at__gte=start, recorded_at__lt=end).select_related(
        "secret__service", "recorded_by")
    if service is not None:
        secrets, rotations = secrets.filter(service=service), rotations.filter(secret__service=service)
    inventory = [{"service": s.service.slug if s.service else None, "name": s.name, "location": s.location,
                  "owner": s.owner, "last_rotated_at": s.last_rotated_at.isoformat(), "max_age_days": s.max_age_days,
                  "due_at": s.due_at.isoformat(), "overdue_at_export": s.is_overdue(), "runbook_url": s.runbook_url}
                 for s in secrets]
    recorded = [{"secret": str(r.secret), "rotated_at": r.rotated_at.isoformat(),
                 "previous_rotated_at": r.previous_rotated_at.isoformat() if r.previous_rotated_at else None,
                 "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.recorded_by.username, "reason": r.reason}
                for r in rotations.order_by("recorded_at", "id")]
    return {"secrets.json": _json(inventory),
            "rotations.json": _json(recorded)}
