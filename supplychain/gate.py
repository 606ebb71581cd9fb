"""The `vulnerabilities` gate input: a release with a finding at or above the environment's severity policy does
not enter it (production blocks; other environments warn unless their policy blocks), unless a waiver in force
covers the finding. An expired or revoked waiver blocks again. A release without an SBOM is "not checked": it
passes, saying so, unless the environment's policy requires an SBOM (`require_sbom`), where it waits (pending)."""

from __future__ import annotations

from typing import Any

from governance.hooks import GateInput, Verdict
from governance.models import Environment
from releases.models import Release
from supplychain import queries, severity

NAME = "vulnerabilities"


def vulnerabilities(*, release: Release, environment: Environment) -> GateInput:
    policy = queries.severity_policy(environment)
    sbom = queries.current_sbom(release)
    details: dict[str, Any] = {"min_severity": policy.min_severity, "blocks": policy.blocks,
                               "policy_configured": policy.configured, "require_sbom": policy.require_sbom,
                               "checked": sbom is not None}
    if sbom is None and policy.require_sbom:
        return GateInput(NAME, "pending", "no-sbom",
                         f"{release} has no SBOM and {environment.slug} requires one: attach it (govctl sbom attach, "
                         "docs/SUPPLY-CHAIN.md) so its dependencies can be checked", details)
    if sbom is None:
        return GateInput(NAME, "allow", "no-sbom",
                         f"not checked: {release} has no SBOM (not required in {environment.slug})", details)
    details["sbom"] = {"id": sbom.pk, "source": sbom.source, "received_at": sbom.received_at.isoformat()}
    if queries.database_size() == 0:
        verdict: Verdict = "pending" if policy.blocks else "allow"
        return GateInput(NAME, verdict, "no-database",
                         "the vulnerability database is empty: import advisories (manage.py vulndb_import) before "
                         "this SBOM can be checked", details)
    blocking, waived, below = [], [], []
    for finding in queries.findings_of(release):
        rating = finding.advisory.severity_rating
        row = {"advisory": finding.advisory.osv_id, "component": finding.purl, "severity": rating,
               "fixed": finding.fixed}
        if not severity.at_least(rating, policy.min_severity):
            below.append(row)
            continue
        waiver = queries.waiver_in_force(release, finding)
        if waiver is not None:
            waived.append(dict(row, waiver=waiver.pk, expires_at=waiver.expires_at.isoformat()))
        else:
            blocking.append(row)
    details.update(findings=blocking, waived=waived, below_policy=below)
    note = f"; {len(waived)} waived" if waived else ""
    if blocking:
        first = blocking[0]
        text = (f"{len(blocking)} finding(s) at or above {policy.min_severity}: {first['advisory']} in "
                f"{first['component']} ({first['severity']}, fixed in {first['fixed'] or 'no known version'})"
                f"{'…' if len(blocking) > 1 else ''}{note}")
        if policy.blocks:
            return GateInput(NAME, "block", "vulnerable", text, details)
        return GateInput(NAME, "allow", "vulnerable-not-enforced", f"{text} (not enforced in {environment.slug})",
                         details)
    return GateInput(NAME, "allow", "no-findings" if not waived else "waived",
                     f"no finding at or above {policy.min_severity}{note}"
                     f"{f' ({len(below)} below the policy)' if below else ''}", details)
