"""The "chaos-runs" evidence section (governance.hooks.EVIDENCE_SECTIONS): reads only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chaos import queries


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def section(*, start: datetime, end: datetime, service: Any = None) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    index = []
    for run in queries.runs_between(start=start, end=end, service=service):
        record = {
            "id": run.pk, "service": run.service.slug, "experiment": run.experiment.key,
            "experiment_version": run.experiment_version, "environment": run.environment.slug,
            "status": run.status, "verdict": run.verdict, "requested_by": run.requested_by.get_username(),
            "approved_by": run.approved_by.get_username() if run.approved_by is not None else None,
            "reason": run.reason, "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "ended_at": _iso(run.ended_at), "phases": run.phases,
            "faults": [{"id": f.pk, "kind": f.kind, "params": f.params, "scope": f.scope,
                        "created_at": _iso(f.created_at), "expires_at": _iso(f.expires_at),
                        "removed_at": _iso(f.removed_at), "removal_reason": f.removal_reason}
                       for f in run.faults.order_by("pk")],
        }
        index.append({k: record[k] for k in ("id", "service", "experiment", "environment", "status", "created_at")})
        files[f"run-{run.pk}.json"] = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()
        files[f"run-{run.pk}.md"] = (run.report_markdown or "").encode()
    files["runs.json"] = json.dumps(index, sort_keys=True, ensure_ascii=False).encode()
    return files
