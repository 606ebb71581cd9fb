"""The release gate: every input in governance.hooks.GATE_INPUTS, each with its verdict, and the decision.

The releases app registers its own inputs (release state, required checks, soak time, approvals, freeze
windows); other apps add theirs (error budget, schema plans). A failing input is a `block` with code
`input-error`, never an exception: the gate must always answer.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from govctl.releases import semver

from governance import hooks
from governance.hooks import GateInput
from governance.models import Environment
from releases import providers, queries
from releases.models import Check, Deployment, Release

logger = logging.getLogger(__name__)
S = Release.State
PASSING_CHECK = {Check.Status.SUCCESS, Check.Status.NEUTRAL}  # neutral: the check does not apply (as on GitHub)


@dataclass(frozen=True)
class GateDecision:
    decision: str
    inputs: list[GateInput]
    release_id: int
    environment: str
    evidence_digest: str
    evaluated_at: datetime
    policy: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "release": self.release_id,
            "environment": self.environment,
            "evidence_digest": self.evidence_digest,
            "evaluated_at": self.evaluated_at.isoformat(),
            "policy": self.policy,
            "inputs": [dataclasses.asdict(i) for i in self.inputs],
        }

    def reasons(self) -> list[str]:
        """One line per input that does not allow, e.g. 'approvals: 0 of 1 approvals'."""
        return [f"{i.name}: {i.message}" for i in self.inputs if i.verdict != "allow"]


# Inputs about when or how a release ships, not about what an approval signs: an approval may be given while
# they block (during a freeze, with the budget spent), and the promotion waits for them.
NOT_SIGNED = {"freeze-window", "error-budget", "soak-time", "deploy-provider"}


def blockers(decision: GateDecision, *, approving: bool = False) -> list[str]:
    """Why a person may not confirm now: each blocking input (for an approval, those about what is signed)."""
    skip = NOT_SIGNED if approving else set()
    return [f"{i.name}: {i.message}" for i in decision.inputs if i.verdict == "block" and i.name not in skip]


def decide(inputs: list[GateInput]) -> str:
    verdicts = {i.verdict for i in inputs}
    if "block" in verdicts:
        return "block"
    if "pending" in verdicts:
        return "pending"
    return "allow"


def evaluate(release: Release, environment: Environment) -> GateDecision:
    """Run every gate input for the release entering the environment."""
    inputs: list[GateInput] = []
    for name, fn in list(hooks.GATE_INPUTS.items()):
        try:
            result = fn(release=release, environment=environment)
        except Exception as exc:  # noqa: BLE001 - any input's failure must become a verdict, not a 500
            logger.exception("gate input %s failed for %s", name, release)
            result = GateInput(name, "block", "input-error", f"the input failed: {exc.__class__.__name__}: {exc}")
        if not isinstance(result, GateInput) or result.verdict not in ("allow", "block", "pending"):
            result = GateInput(name, "block", "input-invalid", f"the input returned {result!r}, not a GateInput")
        inputs.append(result)
    policy = queries.gate_policy(release.service, environment)
    return GateDecision(
        decision=decide(inputs), inputs=inputs, release_id=release.pk, environment=environment.slug,
        evidence_digest=release.evidence_digest, evaluated_at=timezone.now(),
        policy={
            "configured": policy.pk is not None,
            "required_checks": list(policy.required_checks),
            "advisory_checks": list(policy.advisory_checks),
            "min_soak_minutes": policy.min_soak_minutes,
            "approvals_required": policy.approvals_required,
            "approval_ttl_hours": policy.approval_ttl_hours,
        },
    )


# --- the releases app's own inputs ------------------------------------------------------------------

def release_state(*, release: Release, environment: Environment) -> GateInput:
    name = "release-state"
    if release.state == S.ROLLED_BACK:
        return GateInput(name, "block", "rolled-back",
                         f"{release} was rolled back; ship the fix as a new version", {"state": release.state})
    if release.state == S.PROMOTING:
        return GateInput(name, "pending", "promotion-in-progress", f"{release} is being promoted",
                         {"state": release.state})
    if environment.is_production:
        live = queries.live_release(release.service)
        if live is not None and live.pk != release.pk and semver.compare(live.version, release.version) > 0:
            return GateInput(name, "block", "older-than-live",
                             f"{live} is live and newer than {release.version}; going back is a rollback",
                             {"state": release.state, "live": live.version})
        if release.state == S.LIVE:
            return GateInput(name, "allow", "already-live", f"{release} is live", {"state": release.state})
    return GateInput(name, "allow", "ok", f"{release} is {release.get_state_display()}", {"state": release.state})


def required_checks(*, release: Release, environment: Environment) -> GateInput:
    """Required checks must pass; any other check reported against the current evidence that fails blocks too,
    unless the policy lists it as advisory (a failed security-scan is never let through by omission)."""
    name = "required-checks"
    policy = queries.gate_policy(release.service, environment)
    advisory = set(policy.advisory_checks)
    reported = {c.name: c for c in release.checks.all()}
    statuses: dict[str, str] = {}
    failing: list[str] = []
    waiting: list[str] = []
    advisory_failed: list[str] = []
    for check_name in policy.required_checks:
        check = reported.get(check_name)
        if check is None:
            statuses[check_name] = "missing"
            waiting.append(f"{check_name} (not reported)")
        elif check.evidence_digest != release.evidence_digest:
            statuses[check_name] = "stale"
            waiting.append(f"{check_name} (reported against earlier evidence)")
        elif check.status == Check.Status.FAILURE:
            statuses[check_name] = check.status
            failing.append(check_name)
        elif check.status not in PASSING_CHECK:
            statuses[check_name] = check.status
            waiting.append(f"{check_name} ({check.status})")
        else:
            statuses[check_name] = check.status
    for check_name, check in sorted(reported.items()):
        if check_name in statuses or check.evidence_digest != release.evidence_digest:
            continue
        statuses[check_name] = check.status
        if check.status == Check.Status.FAILURE:
            (advisory_failed if check_name in advisory else failing).append(check_name)
    details = {"required": list(policy.required_checks), "advisory": sorted(advisory), "statuses": statuses}
    note = f"; advisory, not blocking: {', '.join(advisory_failed)} failed" if advisory_failed else ""
    if failing:
        return GateInput(name, "block", "check-failed", f"failed: {', '.join(failing)}{note}", details)
    if waiting:
        return GateInput(name, "pending", "checks-pending", f"waiting for: {', '.join(waiting)}{note}", details)
    if not policy.required_checks:
        return GateInput(name, "allow", "none-required", f"no checks are required and none reported failed{note}",
                         details)
    return GateInput(name, "allow", "checks-passed", f"passed: {', '.join(policy.required_checks)}{note}", details)


def soak_time(*, release: Release, environment: Environment) -> GateInput:
    name = "soak-time"
    policy = queries.gate_policy(release.service, environment)
    minutes = policy.min_soak_minutes
    previous = queries.previous_environment(environment)
    if minutes == 0:
        return GateInput(name, "allow", "none-required", "no soak time is required", {"min_soak_minutes": 0})
    if previous is None:
        return GateInput(name, "allow", "no-previous-environment",
                         f"{environment.slug} is the first environment; nothing to soak in", {"min_soak_minutes": minutes})
    first = (Deployment.objects.filter(release=release, environment=previous, status=Deployment.Status.SUCCEEDED)
             .order_by("finished_at").first())
    details: dict[str, Any] = {"min_soak_minutes": minutes, "previous_environment": previous.slug}
    if first is None or first.finished_at is None:
        return GateInput(name, "pending", "not-deployed-to-previous",
                         f"deploy {release.version} to {previous.slug} first ({minutes} min soak required)", details)
    soaked = timezone.now() - first.finished_at
    details.update(deployed_at=first.finished_at.isoformat(), soaked_minutes=int(soaked.total_seconds() // 60))
    if soaked.total_seconds() < minutes * 60:
        remaining = minutes - int(soaked.total_seconds() // 60)
        return GateInput(name, "pending", "soaking",
                         f"in {previous.slug} for {details['soaked_minutes']} of {minutes} min ({remaining} min to go)",
                         details)
    return GateInput(name, "allow", "soaked", f"in {previous.slug} for {details['soaked_minutes']} min "
                     f"(≥ {minutes} min)", details)


def approvals(*, release: Release, environment: Environment) -> GateInput:
    name = "approvals"
    policy = queries.gate_policy(release.service, environment)
    needed = policy.approvals_required
    standing = queries.standing_approvals(release, environment)
    details: dict[str, Any] = {"required": needed, "approvers": [a.approver.get_username() for a in standing],
                               "evidence_digest": release.evidence_digest}
    if needed == 0:
        return GateInput(name, "allow", "none-required", "no approvals are required", details)
    if len(standing) >= needed:
        return GateInput(name, "allow", "approved",
                         f"approved by {', '.join(details['approvers'])} ({len(standing)} of {needed})", details)
    return GateInput(name, "pending", "approvals-missing",
                     f"{len(standing)} of {needed} approval(s) by a release manager who is not an author or "
                     "committer", details)


def freeze_window(*, release: Release, environment: Environment) -> GateInput:
    name = "freeze-window"
    windows = list(queries.active_freezes(release.service, environment))
    if not windows:
        return GateInput(name, "allow", "not-frozen", f"{environment.slug} is not frozen")
    overrides = {o.window_id: o for o in release.freeze_overrides.select_related("overridden_by")
                 .filter(window__in=windows)}
    blocking = [w for w in windows if w.pk not in overrides]
    details = {"windows": [{"id": w.pk, "title": w.title, "ends_at": w.ends_at.isoformat()} for w in windows]}
    if blocking:
        w = blocking[0]
        return GateInput(name, "block", "frozen",
                         f"{environment.slug} is frozen until {w.ends_at:%Y-%m-%d %H:%M} UTC ({w.title})", details)
    who = "; ".join(f"{o.overridden_by.get_username()}: {o.reason}" for o in overrides.values())
    return GateInput(name, "allow", "freeze-overridden", f"freeze overridden ({who})", details)


def deploy_provider(*, release: Release, environment: Environment) -> GateInput:
    name = "deploy-provider"
    service = release.service
    if not environment.is_production:
        return GateInput(name, "allow", "not-used", f"deployments to {environment.slug} are made by CI")
    try:
        providers.get_provider(service.deploy_provider, service.deploy_settings)
    except providers.ProviderConfigError as exc:
        return GateInput(name, "block", "provider-misconfigured", f"{service.deploy_provider}: {exc}",
                         {"provider": service.deploy_provider})
    if service.deploy_provider == "vercel" and not queries.provider_ref_for(release):
        return GateInput(name, "block", "no-provider-ref",
                         f"no Vercel deployment id for {release.version}: record its preview deployment with "
                         "--provider-ref", {"provider": "vercel"})
    return GateInput(name, "allow", "ready", f"{service.deploy_provider} is configured",
                     {"provider": service.deploy_provider})


BUILT_IN = {
    "release-state": release_state,
    "required-checks": required_checks,
    "soak-time": soak_time,
    "approvals": approvals,
    "freeze-window": freeze_window,
    "deploy-provider": deploy_provider,
}
