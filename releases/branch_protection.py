"""The branch-protection review: each service's default branch, as GitHub protects it, against the gate policy.

What is expected (`expected_rules`): the required status checks of the service's gate policies (every
environment's, so CI on the branch runs what the gate will ask for), at least BRANCH_PROTECTION_MIN_REVIEWS
approving reviews, stale reviews dismissed on push, no force pushes, and administrators included. What GitHub
enforces (`actual_rules`) merges the classic protection (`GET …/branches/{b}/protection`) and every ruleset rule
that applies to the branch (`GET …/rules/branches/{b}`); a ruleset includes administrators when it has no bypass
actors. Each review is stored (`BranchProtectionReview`, the snapshot of what GitHub answered); the gate input
`branch-protection` reads the latest one and never calls GitHub itself.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings
from django.utils import timezone

from governance.hooks import GateInput, Verdict
from governance.models import Environment, Service
from releases import github
from releases.models import BranchProtectionReview, GatePolicy, Release

logger = logging.getLogger(__name__)
NAME = "branch-protection"
R = BranchProtectionReview.Result


def expected_rules(service: Service) -> dict[str, Any]:
    checks: set[str] = set()
    for required in GatePolicy.objects.filter(service=service).values_list("required_checks", flat=True):
        checks.update(required)
    return {"required_status_checks": sorted(checks),
            "required_approving_review_count": settings.BRANCH_PROTECTION_MIN_REVIEWS,
            "dismiss_stale_reviews": settings.BRANCH_PROTECTION_DISMISS_STALE,
            "allow_force_pushes": False,
            "enforce_admins": settings.BRANCH_PROTECTION_ENFORCE_ADMINS}


def actual_rules(protection: dict[str, Any] | None, rules: list[dict[str, Any]],
                 rulesets: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The strongest of the classic protection and the rulesets, rule by rule."""
    checks: set[str] = set()
    reviews, dismiss, force_blocked, admins = 0, False, False, False
    if protection is not None:
        status = protection.get("required_status_checks") or {}
        checks.update(str(c) for c in status.get("contexts") or [])
        checks.update(str(c.get("context")) for c in status.get("checks") or [] if isinstance(c, dict))
        pr = protection.get("required_pull_request_reviews") or {}
        reviews = int(pr.get("required_approving_review_count") or 0) if pr else 0
        dismiss = bool(pr.get("dismiss_stale_reviews")) if pr else False
        force_blocked = not bool((protection.get("allow_force_pushes") or {}).get("enabled", False))
        admins = bool((protection.get("enforce_admins") or {}).get("enabled", False))
    for rule in rules:
        kind, params = rule.get("type"), rule.get("parameters") or {}
        if kind == "required_status_checks":
            checks.update(str(c.get("context")) for c in params.get("required_status_checks") or []
                          if isinstance(c, dict))
        elif kind == "pull_request":
            reviews = max(reviews, int(params.get("required_approving_review_count") or 0))
            dismiss = dismiss or bool(params.get("dismiss_stale_reviews_on_push"))
        elif kind == "non_fast_forward":
            force_blocked = True
        ruleset = rulesets.get(int(rule.get("ruleset_id") or 0))
        if ruleset is not None and not ruleset.get("bypass_actors") and kind in (
                "pull_request", "required_status_checks", "non_fast_forward"):
            admins = True
    return {"required_status_checks": sorted(checks), "required_approving_review_count": reviews,
            "dismiss_stale_reviews": dismiss, "allow_force_pushes": not force_blocked, "enforce_admins": admins}


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule where GitHub enforces less than the policy expects, with the exact difference in words."""
    found: list[dict[str, Any]] = []

    def add(rule: str, message: str) -> None:
        found.append({"rule": rule, "expected": expected[rule], "actual": actual[rule], "message": message})

    missing = sorted(set(expected["required_status_checks"]) - set(actual["required_status_checks"]))
    if missing:
        add("required_status_checks", f"required status checks missing on the branch: {', '.join(missing)}")
    if actual["required_approving_review_count"] < expected["required_approving_review_count"]:
        add("required_approving_review_count", f"{actual['required_approving_review_count']} approving review(s) "
            f"required, the policy needs {expected['required_approving_review_count']}")
    if expected["dismiss_stale_reviews"] and not actual["dismiss_stale_reviews"]:
        add("dismiss_stale_reviews", "stale reviews are not dismissed when new commits are pushed")
    if actual["allow_force_pushes"] and not expected["allow_force_pushes"]:
        add("allow_force_pushes", "force pushes are allowed")
    if expected["enforce_admins"] and not actual["enforce_admins"]:
        add("enforce_admins", "administrators are not included (they can bypass the rules)")
    return found


def review_service(service: Service, *, client: github.GitHubClient | None = None) -> BranchProtectionReview:
    """Read the service's default branch protection and rulesets, compare, store; alert on a new mismatch."""
    expected = expected_rules(service)
    parsed = github.parse_repo_url(service.repository_url)
    token = os.environ.get("GITHUB_TOKEN", "")
    review = BranchProtectionReview(service=service, expected=expected, reviewed_at=timezone.now())
    if parsed is None or not token:
        review.result = R.NOT_CHECKED
        review.message = ("not checked: the service has no https://github.com/OWNER/REPO repository URL"
                          if parsed is None else "not checked: GITHUB_TOKEN is not set")
        review.save()
        return review
    owner, repo = parsed
    review.repository = f"{owner}/{repo}"
    try:
        client = client or github.GitHubClient(token=token, api_url=settings.GITHUB_API_URL,
                                               max_wait_seconds=settings.GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS)
        review.branch = client.default_branch(owner, repo)
        protection = client.branch_protection(owner, repo, review.branch)
        rules = client.branch_rules(owner, repo, review.branch)
        ids = sorted({int(r["ruleset_id"]) for r in rules if str(r.get("ruleset_id", "")).isdigit()})
        rulesets = {i: client.ruleset(owner, repo, i) for i in ids}
    except github.GitHubError as exc:
        review.result, review.message = R.ERROR, str(exc)
        review.save()
        return review
    review.snapshot = {"protection": protection, "rules": rules,
                       "rulesets": {str(i): {"name": r.get("name"), "enforcement": r.get("enforcement"),
                                             "bypass_actors": r.get("bypass_actors", [])} for i, r in rulesets.items()}}
    review.actual = actual_rules(protection, rules, rulesets)
    review.differences = differences(expected, review.actual)
    review.result = R.MISMATCH if review.differences else R.MATCHES
    review.message = "; ".join(d["message"] for d in review.differences) or "the branch enforces the gate policy"
    previous = latest_review(service)
    review.save()
    if review.result == R.MISMATCH and (previous is None or previous.differences != review.differences):
        review.alerted = send_alert(review)
        review.save(update_fields=["alerted"])
    return review


def review_all() -> list[BranchProtectionReview]:
    return [review_service(s) for s in Service.objects.order_by("slug")]


def latest_review(service: Service) -> BranchProtectionReview | None:
    return BranchProtectionReview.objects.filter(service=service).order_by("-reviewed_at", "-id").first()


def send_alert(review: BranchProtectionReview) -> bool:
    """The one place this app alerts on branch protection (through the portal's one routing path)."""
    from governance.notifications import notify, send_alert

    lines = "\n".join(f"- {d['message']}" for d in review.differences)
    message = notify.Message(
        severity=notify.Severity.WARNING,
        title=f"Branch protection of {review.service.slug} ({review.repository}@{review.branch}) "
              "does not match the gate policy",
        text=f"{lines}\nProduction releases of {review.service.slug} are blocked until the branch is protected "
             "as the policy says (docs/RELEASES.md § Branch protection).",
        fields={"service": review.service.slug, "repository": review.repository, "branch": review.branch},
        source="governance-portal/branch-protection")
    results = send_alert(message, service_id=review.service_id)
    return any(r.delivered for r in results)


def gate_input(*, release: Release, environment: Environment) -> GateInput:
    """`branch-protection`: the latest review. A mismatch blocks production (BRANCH_PROTECTION_BLOCKS_PRODUCTION)
    and warns elsewhere; a service never reviewed, or without GitHub, is "not checked" (never a pass): it enters
    saying so, or waits (pending) in production when BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION is on."""
    review = latest_review(release.service)
    wait = environment.is_production and settings.BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION
    unchecked: Verdict = "pending" if wait else "allow"
    required = " (production requires a passing review: BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION)" if wait else ""
    if review is None or review.result == R.NOT_CHECKED:
        why = review.message if review is not None else "not checked: no branch-protection review has run yet"
        return GateInput(NAME, unchecked, "not-checked", why + required, {"checked": False})
    details: dict[str, Any] = {"checked": review.result != R.ERROR, "repository": review.repository,
                               "branch": review.branch, "reviewed_at": review.reviewed_at.isoformat(),
                               "differences": review.differences}
    if review.result == R.ERROR:
        return GateInput(NAME, unchecked, "not-checked",
                         f"not checked: the last review failed: {review.message}{required}", details)
    if review.result == R.MATCHES:
        return GateInput(NAME, "allow", "matches", f"{review.repository}@{review.branch} enforces the gate policy",
                         details)
    text = f"{review.repository}@{review.branch}: {review.message}"
    if environment.is_production and settings.BRANCH_PROTECTION_BLOCKS_PRODUCTION:
        return GateInput(NAME, "block", "mismatch", text, details)
    return GateInput(NAME, "allow", "mismatch-warning", f"warning: {text}", details)
