"""Reads: what is live where, a release's SBOM and findings, waivers in force, the severity policy, searches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from governance.models import Environment
from releases.models import Deployment, Release
from supplychain import matching
from supplychain import sbom as sbom_module
from supplychain.models import Advisory, AffectedPackage, Component, Finding, Sbom, SeverityPolicy, Waiver


def live_deployments() -> list[Deployment]:
    """Per service and environment, the last succeeded deployment: its release is what runs there now."""
    return list(Deployment.objects.select_related("release", "service", "environment")
                .filter(status=Deployment.Status.SUCCEEDED, finished_at__isnull=False)
                .order_by("service_id", "environment_id", "-finished_at", "-id")
                .distinct("service_id", "environment_id"))


def with_live_in(rows: QuerySet[Any], release_field: str = "release") -> QuerySet[Any]:
    """Annotate `live_in`: the slugs of the environments where the row's release runs now (one query)."""
    latest = (Deployment.objects.filter(service_id=OuterRef(OuterRef(f"{release_field}__service_id")),
                                        environment_id=OuterRef("pk"), status=Deployment.Status.SUCCEEDED,
                                        finished_at__isnull=False)
              .order_by("-finished_at", "-id").values("release_id")[:1])
    environments = (Environment.objects.annotate(live_release=Subquery(latest))
                    .filter(live_release=OuterRef(f"{release_field}_id")).order_by("order").values("slug"))
    return rows.annotate(live_in=ArraySubquery(environments))


def live_where(release: Release) -> list[Environment]:
    return [d.environment for d in live_deployments() if d.release_id == release.pk]


def current_sbom(release: Release) -> Sbom | None:
    """The SBOM that describes the release now: the latest one received, leaving out one registered with
    evidence that was amended since (the registered SBOM is the one in the current `artifacts.sbom`)."""
    registered = (release.artifacts or {}).get("sbom")
    digest = sbom_module.canonical_sha256(registered) if isinstance(registered, dict) else None
    for row in release.sboms.order_by("-received_at", "-id"):
        if row.source == Sbom.Source.ATTACHED or row.sha256 == digest:
            return row
    return None


def database_size() -> int:
    return Advisory.objects.filter(withdrawn__isnull=True).count()


def candidates_for(packages: set[matching.Package]) -> list[matching.Candidate]:
    """The affected entries of non-withdrawn advisories that name one of the packages (index on both columns)."""
    by_ecosystem: dict[str, list[str]] = {}
    for package in packages:
        by_ecosystem.setdefault(package.ecosystem, []).append(package.name)
    if not by_ecosystem:
        return []
    where = Q()
    for ecosystem, names in by_ecosystem.items():
        where |= Q(ecosystem=ecosystem, package__in=names)
    rows = (AffectedPackage.objects.filter(where, advisory__withdrawn__isnull=True)
            .values_list("advisory__osv_id", "ecosystem", "package", "entry"))
    return [matching.Candidate(osv_id, matching.Package(ecosystem, name), entry)
            for osv_id, ecosystem, name, entry in rows]


def identified(components: list[Component]) -> list[matching.Identified]:
    return [matching.Identified(matching.Package(c.ecosystem, c.package), c.version, c.purl)
            for c in components if c.ecosystem and c.package and c.version]


@dataclass(frozen=True)
class Policy:
    min_severity: str
    blocks: bool
    configured: bool
    require_sbom: bool = False


def severity_policy(environment: Environment) -> Policy:
    """The environment's policy; without one, production blocks at VULNDB_GATE_SEVERITY and others only warn."""
    row = SeverityPolicy.objects.filter(environment=environment).first()
    if row is not None:
        return Policy(row.min_severity, row.blocks, True, row.require_sbom)
    return Policy(settings.VULNDB_GATE_SEVERITY, environment.is_production, False)


def findings_of(release: Release) -> QuerySet[Finding]:
    return (Finding.objects.select_related("advisory").filter(release=release, advisory__withdrawn__isnull=True)
            .order_by("advisory__osv_id", "purl"))


def waiver_in_force(release: Release, finding: Finding, now: datetime | None = None) -> Waiver | None:
    moment = now or timezone.now()
    return (Waiver.objects.filter(service_id=release.service_id, advisory_id=finding.advisory.osv_id,
                                  ecosystem=finding.ecosystem, package=finding.package,
                                  status=Waiver.Status.APPROVED, expires_at__gt=moment)
            .order_by("-expires_at").first())


def releases_containing(package: str, version: str = "") -> list[dict[str, Any]]:
    """Which releases contain a package (a purl, or a name in any ecosystem), at a version, and where each is live.

    Only a release's current SBOM counts (an SBOM attached later replaces the picture)."""
    text = package.strip()
    if text.startswith("pkg:"):
        try:
            ident = matching.identify(text)
        except matching.UnknownPackage:
            return []
        where = Q(ecosystem=ident.package.ecosystem, package=ident.package.name)
        version = version or ident.version
    else:
        where = Q(package__iexact=text) | Q(name__iexact=text)
        for ecosystem in ("PyPI", "npm"):
            where |= Q(ecosystem=ecosystem, package=matching.normalise_name(ecosystem, text))
    rows = Component.objects.filter(where).select_related("release__service", "sbom")
    if version:
        rows = rows.filter(version=version)
    live: dict[int, list[str]] = {}
    for deployment in live_deployments():
        live.setdefault(deployment.release_id, []).append(deployment.environment.slug)
    current: dict[int, int | None] = {}
    out = []
    for row in rows.order_by("release__service__slug", "-release__created_at", "purl"):
        if row.release_id not in current:
            sbom = current_sbom(row.release)
            current[row.release_id] = sbom.pk if sbom else None
        if current[row.release_id] != row.sbom_id:
            continue
        out.append({"service": row.release.service.slug, "service_id": row.release.service_id, "release": row.release.version,
                    "release_id": row.release_id, "state": row.release.state, "purl": row.purl,
                    "package": row.package or row.name, "version": row.version,
                    "live_in": sorted(live.get(row.release_id, []))})
    return out
