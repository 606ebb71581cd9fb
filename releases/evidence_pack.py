"""The releases section of an evidence pack (hooks.EVIDENCE_SECTIONS["releases"]): every release with activity in
the range (registered, approved or deployed in it), with its evidence and digest, CI checks, approvals, deployments
with the gate decision each recorded, and freeze overrides. Reads only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from governance.evidence_pack import json_file, rows
from governance.models import Service
from releases.evidence import EVIDENCE_FIELDS
from releases.models import Approval, Check, Deployment, FreezeOverride, Release


def section(*, start: datetime, end: datetime, service: Service | None) -> dict[str, bytes]:
    releases = Release.objects.select_related("service").filter(
        Q(created_at__gte=start, created_at__lt=end)
        | Q(approvals__created_at__gte=start, approvals__created_at__lt=end)
        | Q(deployments__created_at__gte=start, deployments__created_at__lt=end)).distinct().order_by("created_at", "id")
    if service is not None:
        releases = releases.filter(service=service)
    files: dict[str, bytes] = {}
    index: list[dict[str, Any]] = []
    for release in releases:
        record = _release(release, start, end)
        files[f"{release.service.slug}/{release.version.replace('/', '_')}.json"] = json_file(record)
        index.append({k: record[k] for k in ("service", "version", "state", "evidence_digest", "created_at")}
                     | {"deployments_in_range": len(record["deployments"]),
                        "approvals_in_range": len(record["approvals"])})
    files["index.json"] = json_file({"range": {"from": start, "to": end}, "releases": index})
    return files


def _release(release: Release, start: datetime, end: datetime) -> dict[str, Any]:
    evidence = {name: getattr(release, name) for name in EVIDENCE_FIELDS if name != "service"}
    in_range = {"created_at__gte": start, "created_at__lt": end}
    return {
        "service": release.service.slug,
        "version": release.version,
        "state": release.state,
        "state_changed_at": release.state_changed_at,
        "created_at": release.created_at,
        "evidence": {"service": release.service.slug, **evidence},
        "evidence_digest": release.evidence_digest,
        "evidence_revision": release.evidence_revision,
        "checks": rows(Check.objects.filter(release=release).order_by("name"), "name", "status", "url", "summary",
                       "evidence_digest", "reported_at"),
        "approvals": rows(Approval.objects.filter(release=release, **in_range).order_by("created_at", "id"),
                          "environment__slug", "approver__username", "evidence_digest", "comment", "created_at",
                          "expires_at", "voided_at", "void_reason"),
        "deployments": rows(Deployment.objects.filter(release=release, **in_range).order_by("created_at", "id"),
                            "id", "environment__slug", "kind", "status", "provider", "provider_ref", "url",
                            "replaces__version", "requested_by__username", "reason", "gate", "error", "created_at",
                            "started_at", "finished_at"),
        "freeze_overrides": rows(FreezeOverride.objects.filter(release=release, **in_range).order_by("created_at"),
                                 "window__environment__slug", "window__starts_at", "window__ends_at",
                                 "overridden_by__username", "reason", "created_at"),
    }
