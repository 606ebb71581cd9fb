"""Compute a release plan once: policy, next version, explanation and changelog, with one error vocabulary.

Used by `govctl semver next`, `govctl release plan --from-git` (offline) and the portal (`releases/planning.py`:
the plan API and registration), so a pipeline, a developer and the portal get the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govctl.releases.changelog import render_section
from govctl.releases.conventional import SourceCommit
from govctl.releases.versioning import BumpPolicy, BumpResult, VersioningError, next_version


class PlanError(ValueError):
    """The plan cannot be computed; `field` names the input at fault (policy, channel, current_version,
    repo_url) so the CLI (exit 2) and the API (400 on that field) report it the same way."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class ReleasePlan:
    result: BumpResult
    # The changelog section for the next version ("" when nothing warrants a release).
    changelog: str

    @property
    def next_version(self) -> str | None:
        return self.result.next_version

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "changelog": self.changelog}


def parse_policy(data: Mapping[str, Any] | None) -> BumpPolicy:
    """A stored or submitted policy (None: the built-in one); every problem is a PlanError on `policy`."""
    if data is None:
        return BumpPolicy()
    try:
        return BumpPolicy.from_dict(data)
    except (VersioningError, TypeError) as exc:
        raise PlanError("policy", str(exc)) from None


def plan_release(
    *,
    current: str | None,
    commits: Iterable[SourceCommit],
    policy: BumpPolicy,
    channel: str | None = None,
    version: str | None = None,
    repo_url: str | None = None,
    date: str | None = None,
) -> ReleasePlan:
    """The plan after `current` for `commits`; `version` (an explicit version) titles the changelog instead."""
    try:
        result = next_version(current=current, commits=list(commits), policy=policy, channel=channel)
    except VersioningError as exc:
        message = str(exc)
        field = "channel" if "channel" in message else "current_version" if "current version" in message else "version"
        raise PlanError(field, message) from None
    title = version or result.next_version
    if title is None:
        return ReleasePlan(result, "")
    try:
        section = render_section(version=title, commits=result.included, policy=policy, repo_url=repo_url, date=date)
    except ValueError as exc:
        raise PlanError("repo_url", str(exc)) from None
    return ReleasePlan(result, section)
