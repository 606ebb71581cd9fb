"""The release plan, computed once: latest release, policy, next version, explanation and changelog.

The plan API and registration both call `plan_for`; the pure part (`govctl.releases.release_plan`) is the one the CLI's
offline `release plan --from-git` uses, so the portal and a pipeline agree. Errors keep one vocabulary:
`govctl.releases.release_plan.PlanError.field` becomes the field of the ValidationError.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from govctl.releases.changelog import is_web_url
from govctl.releases.release_plan import PlanError, ReleasePlan, parse_policy, plan_release
from govctl.releases.versioning import BumpPolicy

from governance.models import Service
from releases import queries
from releases.models import Release

LATEST: Any = object()  # plan after the service's latest release


def policy_from(data: dict[str, Any] | None, service: Service, *, field: str = "bump_policy") -> BumpPolicy:
    """A submitted policy (400 on `field` when it does not parse), else the service's stored one."""
    if data is None:
        return queries.bump_policy_for(service)
    try:
        return parse_policy(data)
    except PlanError as exc:
        raise ValidationError({field: str(exc)}) from None


def plan_for(*, service: Service, commits: list[dict[str, Any]], policy: BumpPolicy, pr_url: str = "",
             channel: str | None = None, base: Release | None = LATEST, version: str | None = None,
             date: str | None = None, error_field: str | None = None) -> ReleasePlan:
    """The plan after `base` (default: the service's latest release; None: no release before). `version` titles the changelog when the
    caller names the version; `error_field` puts every error on one field (registration reports `version`)."""
    if base is LATEST:
        base = queries.latest_release(service)
    repo = service.repository_url if service.repository_url and is_web_url(service.repository_url) else None
    try:
        return plan_release(current=base.version if base else None, commits=queries.source_commits(commits, pr_url),
                            policy=policy, channel=channel, version=version, repo_url=repo, date=date)
    except PlanError as exc:
        raise ValidationError({error_field or exc.field: str(exc)}) from None


def plan_payload(service: Service, plan: ReleasePlan) -> dict[str, Any]:
    """The plan API's answer."""
    result = plan.result
    return {
        "service": service.slug,
        "current_version": result.current_version,
        "next_version": result.next_version,
        "bump": result.bump,
        "channel": result.channel,
        "explanation": result.explain(),
        "changelog": plan.changelog,
        "invalid_commits": [{"sha": c.sha, "subject": c.subject, "errors": list(c.errors)}
                            for c in result.invalid_commits],
        "complete": result.complete,
        "release_as": result.release_as.version if result.release_as else None,
        "policy": result.policy.to_dict(),
    }
