"""Storing a release's SBOM (at registration, or attached later) and keeping its findings in step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.reasons import require_reason
from releases.models import Release
from supplychain import matching, queries, sbom
from supplychain.models import Advisory, Component, Finding, Sbom

ARTIFACT_KEY = "sbom"  # artifacts.sbom: a CycloneDX JSON document registered with the release (in its digest)


def validate_artifacts(*, artifacts: dict[str, Any]) -> None:
    """EVIDENCE_VALIDATORS hook: an SBOM in the registered evidence must be valid CycloneDX 1.5 / 1.6."""
    if ARTIFACT_KEY in artifacts:
        try:
            sbom.parse(artifacts[ARTIFACT_KEY])
        except sbom.InvalidSbom as exc:
            raise ValidationError({"artifacts": f"sbom: {exc}"}) from None


def on_evidence_recorded(*, release: Release, actor: Any, reason: str) -> None:
    """EVIDENCE_RECORDED hook: the registered SBOM becomes the release's SBOM (source: registration)."""
    document = (release.artifacts or {}).get(ARTIFACT_KEY)
    if document is not None:
        store_sbom(release=release, document=document, source=Sbom.Source.REGISTRATION, actor=actor, reason=reason)
    else:
        refresh_findings(release=release)  # amended evidence without its SBOM: the old one's findings go


@dataclass(frozen=True)
class Stored:
    sbom: Sbom
    created: bool
    new_findings: list[Finding]


@transaction.atomic
def store_sbom(*, release: Release, document: Any, source: str, actor: Any, reason: str) -> Stored:
    """Store an SBOM and its components; the same document again is a no-op. Approvals are untouched: an SBOM
    attached later is not part of the signed evidence (its arrival time is shown instead)."""
    reason = require_reason(reason)
    try:
        parsed = sbom.parse(document)
    except sbom.InvalidSbom as exc:
        raise ValidationError({"sbom": str(exc)}) from None
    existing = Sbom.objects.filter(release=release, sha256=parsed.sha256).first()
    if existing is not None:
        return Stored(existing, False, refresh_findings(release=release))  # e.g. evidence amended back to it
    row = Sbom(release=release, source=source, spec_version=parsed.spec_version,
               serial_number=parsed.serial_number[:200], sha256=parsed.sha256, document=document,
               component_count=len(parsed.components), received_at=timezone.now())
    row.stamp(actor=actor, reason=reason)
    row.save()
    Component.objects.bulk_create([
        Component(sbom=row, release=release, purl=c.purl[:1000], name=c.name[:500], version=c.version[:200],
                  ecosystem=c.ecosystem, package=c.package[:500], hashes=c.hashes)
        for c in parsed.components
    ], batch_size=1000)
    return Stored(row, True, refresh_findings(release=release))


def refresh_findings(*, release: Release) -> list[Finding]:
    """Match the release's current SBOM against the database; add new findings, drop those that no longer hold.

    Returns the new findings. Called after an SBOM arrives and after an import changed the packages it names."""
    current = queries.current_sbom(release)
    components = queries.identified(list(current.components.all())) if current else []
    candidates = queries.candidates_for({c.package for c in components})
    matches = matching.match(components, candidates)
    ids = dict(Advisory.objects.filter(osv_id__in={m.advisory_id for m in matches}).values_list("osv_id", "pk"))
    wanted = {(ids[m.advisory_id], m.component.purl): m for m in matches}
    have = {(f.advisory_id, f.purl): f for f in Finding.objects.filter(release=release)}
    gone = [f.pk for key, f in have.items() if key not in wanted]
    if gone:
        Finding.objects.filter(pk__in=gone).delete()
    new = [Finding(release=release, advisory_id=advisory_pk, purl=m.component.purl[:1000],
                   ecosystem=m.component.package.ecosystem, package=m.component.package.name[:500],
                   version=m.component.version[:200], fixed=m.fixed[:200])
           for (advisory_pk, purl), m in wanted.items() if (advisory_pk, purl) not in have]
    changed = [(have[key], m.fixed) for key, m in wanted.items() if key in have and have[key].fixed != m.fixed]
    for finding, fixed in changed:
        finding.fixed = fixed[:200]
        finding.save(update_fields=["fixed"])
    return Finding.objects.bulk_create(new)
