"""The OSV database: importing an export (incremental by `modified`, idempotent, withdrawn records retracted),
re-matching the releases whose packages changed, and alerting on new findings in live releases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance import locks
from releases.models import Release
from supplychain import matching, osv_source, queries, severity
from supplychain.models import Advisory, AffectedPackage, Component, Finding, ImportRun
from supplychain.services.sboms import refresh_findings

logger = logging.getLogger(__name__)
BATCH = 1000
Progress = Callable[[ImportRun], None]


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(str(value))
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def _advisory(record: dict[str, Any], modified: datetime) -> Advisory:
    rated = severity.of_record(record)
    return Advisory(
        osv_id=str(record["id"])[:100], modified=modified, published=_when(record.get("published")),
        withdrawn=_when(record.get("withdrawn")), summary=str(record.get("summary") or record.get("details") or "")[:2000],
        aliases=[str(a)[:100] for a in record.get("aliases") or []], severity_rating=rated.rating,
        severity_score=rated.score, severity_vector=rated.vector[:300], severity_source=rated.source, record=record,
        imported_at=timezone.now(),
    )


def _write(batch: dict[str, tuple[dict[str, Any], datetime]], run: ImportRun, known: dict[str, datetime],
           changed: set[matching.Package]) -> None:
    """Upsert one batch of advisories and replace their affected entries, in one transaction."""
    rows = [_advisory(record, modified) for record, modified in batch.values()]
    with transaction.atomic():
        ids = list(batch)
        old = set(AffectedPackage.objects.filter(advisory__osv_id__in=ids).values_list("ecosystem", "package"))
        changed.update(matching.Package(e, p) for e, p in old)
        AffectedPackage.objects.filter(advisory__osv_id__in=ids).delete()
        Advisory.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["osv_id"],
            update_fields=["modified", "published", "withdrawn", "summary", "aliases", "severity_rating",
                           "severity_score", "severity_vector", "severity_source", "record", "imported_at"])
        pks = dict(Advisory.objects.filter(osv_id__in=ids).values_list("osv_id", "pk"))
        affected = []
        for record, _ in batch.values():
            for candidate in matching.candidates_of(record):  # none for a withdrawn record: it is retracted
                changed.add(candidate.package)
                affected.append(AffectedPackage(
                    advisory_id=pks[candidate.advisory_id[:100]], ecosystem=candidate.package.ecosystem[:40],
                    package=candidate.package.name[:500], entry=dict(candidate.affected),
                    fixed=[f[:200] for f in matching.fixed_versions(candidate.affected)]))
        AffectedPackage.objects.bulk_create(affected, batch_size=2000)
    for osv_id, (record, _) in batch.items():
        if record.get("withdrawn"):
            run.withdrawn += 1
        elif osv_id in known:
            run.updated += 1
        else:
            run.created += 1


class ImportBusy(RuntimeError):
    """Another import is running (one at a time across workers and commands)."""


def import_advisories(*, source: str, trigger: str = "command", progress: Progress | None = None,
                      alert: bool = True) -> ImportRun:
    """Import an OSV export. A record is written only when its `modified` is newer than the stored one, so a
    re-import of the same export writes nothing. Returns the recorded run (its counts and problems)."""
    with locks.advisory_lock("supplychain:vulndb-import", wait=False, scope="session") as held:
        if not held:
            raise ImportBusy("another vulnerability database import is running; try again when it ends")
        return _import(source, trigger, progress, alert)


def _import(source: str, trigger: str, progress: Progress | None, alert: bool) -> ImportRun:
    run = ImportRun.objects.create(source=source[:1000], trigger=trigger)
    known = dict(Advisory.objects.values_list("osv_id", "modified"))
    changed: set[matching.Package] = set()
    batch: dict[str, tuple[dict[str, Any], datetime]] = {}
    try:
        for item in osv_source.read(source):
            run.read += 1
            if item.record is None:
                run.invalid += 1
                if len(run.problems) < 100:
                    run.problems.append(f"{item.name}: {item.problem}")
                continue
            osv_id = str(item.record["id"])[:100]
            modified = _when(item.record.get("modified"))
            if modified is None:
                run.invalid += 1
                if len(run.problems) < 100:
                    run.problems.append(f"{item.name}: modified {item.record.get('modified')!r} is not a time")
                continue
            stored = known.get(osv_id)
            queued = batch.get(osv_id)
            if (stored is not None and stored >= modified) or (queued is not None and queued[1] >= modified):
                run.unchanged += 1
                continue
            batch[osv_id] = (item.record, modified)
            if len(batch) >= BATCH:
                _write(batch, run, known, changed)
                batch = {}
            if progress is not None and run.read % BATCH == 0:
                progress(run)
        if batch:
            _write(batch, run, known, changed)
    except osv_source.SourceError as exc:
        run.error = str(exc)
    if not run.error and run.read == 0:
        run.error = f"{source}: no OSV records found (.json, .yaml or .yml files)"
    new_findings = rematch(changed) if changed else []
    if alert:
        run.alerts = alert_live(new_findings)
    run.finished_at = timezone.now()
    run.save()
    if progress is not None:
        progress(run)
    return run


def rematch(packages: Iterable[matching.Package]) -> list[Finding]:
    """Refresh the findings of every release whose current SBOM names one of the packages."""
    by_ecosystem: dict[str, set[str]] = {}
    for package in packages:
        by_ecosystem.setdefault(package.ecosystem, set()).add(package.name)
    release_ids: set[int] = set()
    for ecosystem, names in by_ecosystem.items():
        names_list = sorted(names)
        for start in range(0, len(names_list), 5000):
            release_ids |= set(Component.objects.filter(ecosystem=ecosystem, package__in=names_list[start:start + 5000])
                               .values_list("release_id", flat=True).distinct())
    new: list[Finding] = []
    for release in Release.objects.filter(pk__in=release_ids).select_related("service"):
        with transaction.atomic():
            new += refresh_findings(release=release)
    return new


def alert_live(findings: list[Finding]) -> int:
    """One alert per new finding in a release that is live somewhere; returns how many were sent."""
    if not findings:
        return 0
    live: dict[int, list[str]] = {}
    for deployment in queries.live_deployments():
        live.setdefault(deployment.release_id, []).append(deployment.environment.slug)
    sent = 0
    for finding in findings:
        environments = sorted(live.get(finding.release_id, []))
        if not environments:
            continue
        send_finding_alert(finding, environments)
        Finding.objects.filter(pk=finding.pk).update(alerted_at=timezone.now())
        sent += 1
    return sent


def send_finding_alert(finding: Finding, environments: list[str]) -> None:
    """The one place this app sends an alert (the portal's one routing path)."""
    from governance.notifications import notify, send_alert

    release = Release.objects.select_related("service").get(pk=finding.release_id)
    advisory = Advisory.objects.get(pk=finding.advisory_id)
    rating = advisory.severity_rating
    level = notify.Severity.CRITICAL if rating in ("critical", "high") else notify.Severity.WARNING
    message = notify.Message(
        severity=level,
        title=f"{advisory.osv_id} affects {release.service.slug} {release.version}, live in {', '.join(environments)}",
        text=(f"{finding.purl} is affected by {advisory.osv_id} ({rating}): {advisory.summary[:300]}. "
              f"Fixed in: {finding.fixed or 'no fixed version known'}."),
        fields={"service": release.service.slug, "environment": ", ".join(environments),
                "release": release.version, "component": finding.purl, "advisory": advisory.osv_id,
                "severity": rating, "fixed version": finding.fixed or "none known"},
    )
    send_alert(message, service_id=release.service_id)
