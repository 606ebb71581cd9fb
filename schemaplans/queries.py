"""Reads that encode a rule: the rollback horizon of a service."""

from __future__ import annotations

from typing import Any

from govctl.releases import semver

from schemaplans.models import SchemaPlan


def rollback_horizon(service: Any) -> dict[str, str]:
    """{plan id: version of its expand release} for the service's contracted plans.

    Once a plan is contracted, releases older than its expand release expect the dropped columns or tables:
    they can no longer be rolled back to.
    """
    plans = SchemaPlan.objects.filter(service=service, status=SchemaPlan.Status.CONTRACTED).order_by("slug")
    return {plan.slug: plan.expand_release_version for plan in plans}


def oldest_rollback_target(service: Any) -> str | None:
    """The newest expand-release version among contracted plans: no rollback may go below it (None: no limit)."""
    versions = []
    for version in rollback_horizon(service).values():
        try:
            versions.append(semver.parse(version))
        except semver.InvalidVersion:
            continue
    return str(max(versions)) if versions else None
