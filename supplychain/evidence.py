"""The evidence pack's "vulnerabilities-and-waivers" section (governance.hooks.EVIDENCE_SECTIONS): reads only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db.models import Q

from governance.models import Service
from supplychain.models import Finding, ImportRun, Sbom, Waiver


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def section(*, start: datetime, end: datetime, service: Service | None) -> dict[str, bytes]:
    """Waivers in force or decided in the period, findings in releases of the period, SBOMs received, imports."""
    waivers = Waiver.objects.select_related("service", "requested_by", "approved_by").filter(
        Q(requested_at__lt=end) & (Q(expires_at__gte=start) | Q(requested_at__gte=start)))
    findings = Finding.objects.select_related("release__service", "advisory").filter(first_seen_at__lt=end)
    sboms = Sbom.objects.select_related("release__service").filter(received_at__gte=start, received_at__lt=end)
    if service is not None:
        waivers = waivers.filter(service=service)
        findings = findings.filter(release__service=service)
        sboms = sboms.filter(release__service=service)
    waiver_rows = [{
        "id": w.pk, "service": w.service.slug, "advisory": w.advisory_id, "package": f"{w.ecosystem}/{w.package}",
        "status": w.status, "reason": w.reason, "requested_by": w.requested_by.get_username(),
        "requested_at": _iso(w.requested_at), "approved_by": w.approved_by.get_username() if w.approved_by else None,
        "approved_at": _iso(w.approved_at), "expires_at": _iso(w.expires_at),
    } for w in waivers.order_by("requested_at", "pk")]
    finding_rows = [{
        "service": f.release.service.slug, "release": f.release.version, "advisory": f.advisory.osv_id,
        "severity": f.advisory.severity_rating, "component": f.purl, "fixed": f.fixed,
        "withdrawn": f.advisory.withdrawn is not None, "first_seen_at": _iso(f.first_seen_at),
    } for f in findings.order_by("first_seen_at", "pk")]
    sbom_rows = [{
        "service": s.release.service.slug, "release": s.release.version, "source": s.source,
        "spec_version": s.spec_version, "sha256": s.sha256, "components": s.component_count,
        "received_at": _iso(s.received_at),
    } for s in sboms.order_by("received_at", "pk")]
    imports = [{"source": r.source, "trigger": r.trigger, "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at), "created": r.created, "updated": r.updated,
                "withdrawn": r.withdrawn, "unchanged": r.unchanged, "invalid": r.invalid, "error": r.error}
               for r in ImportRun.objects.filter(started_at__gte=start, started_at__lt=end).order_by("started_at")]
    lines = [f"# Vulnerabilities and waivers, {start:%Y-%m-%d} to {end:%Y-%m-%d}", "",
             f"- SBOMs received: {len(sbom_rows)}", f"- Findings: {len(finding_rows)}",
             f"- Waivers: {len(waiver_rows)}", f"- Database imports: {len(imports)}", "", "## Waivers", ""]
    lines += [f"- #{w['id']} {w['service']}: {w['advisory']} in {w['package']} — {w['status']}, requested by "
              f"{w['requested_by']}, approved by {w['approved_by'] or '—'}, expires {w['expires_at']}: {w['reason']}"
              for w in waiver_rows] or ["None."]
    return {"waivers.json": _json(waiver_rows), "findings.json": _json(finding_rows), "sboms.json": _json(sbom_rows),
            "imports.json": _json(imports), "report.md": ("\n".join(lines) + "\n").encode("utf-8")}
