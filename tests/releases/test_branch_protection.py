"""The branch-protection review: GitHub's protection and rulesets against the gate policy, as a gate input."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from governance import services as core
from observability.models import NotificationChannel
from releases import branch_protection, gates, github, tasks
from releases.models import BranchProtectionReview

from .github_fake import FakeGitHub, refused, shape

REPO = "/repos/acme/shop"
PROTECTION = f"{REPO}/branches/main/protection"
RULES = f"{REPO}/rules/branches/main"
RULESET = f"{REPO}/rulesets/42"


@pytest.fixture
def fake(monkeypatch):
    gh = FakeGitHub()
    monkeypatch.setattr(github, "TRANSPORT", gh.transport)
    monkeypatch.setattr(github, "SLEEP", lambda seconds: None)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    gh.on(REPO, _ok(shape("repository.json")))
    return gh


def _ok(body):
    import httpx

    return httpx.Response(200, json=body, headers={"X-RateLimit-Remaining": "4000", "X-RateLimit-Reset": "1900000000"})


@pytest.fixture
def shop(service, system_user, gate_policy, production, preview):
    service.repository_url = "https://github.com/acme/shop"
    core.save_audited(instance=service, actor=system_user, reason="test: link the repository",
                      update_fields=["repository_url"])
    gate_policy(production, required_checks=["tests", "security-scan"])
    gate_policy(preview, required_checks=["tests", "lint"])
    return service


@pytest.fixture
def alerts(db, system_user):
    """A Slack-compatible channel on 127.0.0.1 that takes every service's alerts; yields the bodies received."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    channel = NotificationChannel(name="ops", kind="slack", url=f"http://127.0.0.1:{server.server_port}/hook",
                                  severities=["warning", "critical"])
    core.save_audited(instance=channel, actor=system_user, reason="test channel")
    yield received
    server.shutdown()
    server.server_close()


def test_actual_rules__the_strongest_of_classic_protection_and_rulesets():
    rules = shape("rules_branch.json")
    actual = branch_protection.actual_rules(shape("branch_protection.json"), rules, {42: shape("ruleset.json")})
    assert actual == {"required_status_checks": ["security-scan", "tests"], "required_approving_review_count": 2,
                      "dismiss_stale_reviews": True, "allow_force_pushes": False, "enforce_admins": True}
    classic_only = branch_protection.actual_rules(shape("branch_protection.json"), [], {})
    assert classic_only == {"required_status_checks": ["tests"], "required_approving_review_count": 1,
                            "dismiss_stale_reviews": False, "allow_force_pushes": True, "enforce_admins": False}
    with_bypass = branch_protection.actual_rules(None, rules, {42: {**shape("ruleset.json"), "bypass_actors": [
        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]}})
    assert with_bypass["enforce_admins"] is False
    assert branch_protection.actual_rules(None, [], {})["allow_force_pushes"] is True  # unprotected


@pytest.mark.django_db
def test_review__classic_protection_only__every_difference_listed_gate_blocks_production_and_alerts(
        fake, shop, production, preview, register, alerts):
    fake.on(PROTECTION, _ok(shape("branch_protection.json"))).on(RULES, _ok([]))

    review = branch_protection.review_service(shop)

    assert review.result == "mismatch" and review.branch == "main" and review.repository == "acme/shop"
    assert {d["rule"]: d["message"] for d in review.differences} == {
        "required_status_checks": "required status checks missing on the branch: lint, security-scan",
        "dismiss_stale_reviews": "stale reviews are not dismissed when new commits are pushed",
        "allow_force_pushes": "force pushes are allowed",
        "enforce_admins": "administrators are not included (they can bypass the rules)",
    }
    assert review.snapshot["protection"]["allow_force_pushes"] == {"enabled": True}
    release = register("1.0.0")
    decided = {i.name: i for i in gates.evaluate(release, production).inputs}["branch-protection"]
    assert (decided.verdict, decided.code) == ("block", "mismatch")
    assert "force pushes are allowed" in decided.message and decided.details["differences"] == review.differences
    warned = {i.name: i for i in gates.evaluate(release, preview).inputs}["branch-protection"]
    assert (warned.verdict, warned.code) == ("allow", "mismatch-warning") and warned.message.startswith("warning:")
    assert review.alerted and len(alerts) == 1
    assert "force pushes are allowed" in json.dumps(alerts[0]) and "shop" in json.dumps(alerts[0])

    again = branch_protection.review_service(shop)  # the same differences: no second alert
    assert again.result == "mismatch" and not again.alerted and len(alerts) == 1
    assert BranchProtectionReview.objects.filter(service=shop).count() == 2  # every review kept


@pytest.mark.django_db
def test_review__protection_plus_ruleset_matches_the_policy(fake, shop, production, register, settings):
    fake.on(PROTECTION, _ok(shape("branch_protection.json"))).on(RULES, _ok(shape("rules_branch.json")))
    fake.on(RULESET, _ok(shape("ruleset.json")))
    shop_policy = shop.gate_policies.get(environment__slug="preview")
    shop_policy.required_checks = ["tests"]
    core.save_audited(instance=shop_policy, actor=core.system_user(), reason="test", update_fields=["required_checks"])

    review = branch_protection.review_service(shop)

    assert review.result == "matches", review.differences
    decided = {i.name: i for i in gates.evaluate(register("1.0.0"), production).inputs}["branch-protection"]
    assert (decided.verdict, decided.code) == ("allow", "matches")
    settings.BRANCH_PROTECTION_MIN_REVIEWS = 3
    stricter = branch_protection.review_service(shop)
    assert [d["message"] for d in stricter.differences] == ["2 approving review(s) required, the policy needs 3"]


@pytest.mark.django_db
def test_review__an_unprotected_branch_is_every_rule_missing(fake, shop):
    fake.on(PROTECTION, refused(404, "Branch not protected")).on(RULES, _ok([]))
    review = branch_protection.review_service(shop)
    assert review.result == "mismatch"
    assert {d["rule"] for d in review.differences} == {"required_status_checks", "required_approving_review_count",
                                                       "dismiss_stale_reviews", "allow_force_pushes", "enforce_admins"}


@pytest.mark.django_db
def test_review__token_without_administration_read__an_error_never_a_pass(fake, shop, production, register):
    fake.on(PROTECTION, refused(403, "Resource not accessible by personal access token",
                                **{"X-OAuth-Scopes": ""}))
    review = branch_protection.review_service(shop)
    assert review.result == "error" and "Administration: read" in review.message
    decided = {i.name: i for i in gates.evaluate(register("1.0.0"), production).inputs}["branch-protection"]
    assert decided.code == "not-checked" and decided.message.startswith("not checked: the last review failed")


@pytest.mark.django_db
def test_no_github_configured__not_checked_never_a_pass(monkeypatch, service, production, register):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    release = register("1.0.0")
    before = {i.name: i for i in gates.evaluate(release, production).inputs}["branch-protection"]
    assert before.code == "not-checked" and "not checked" in before.message
    assert tasks.review_branch_protection().count("not_checked") >= 1
    after = {i.name: i for i in gates.evaluate(release, production).inputs}["branch-protection"]
    assert after.code == "not-checked" and after.message.startswith("not checked:")
    assert after.details == {"checked": False}


@pytest.mark.django_db
def test_required_in_production__not_checked_waits_there_and_passes_elsewhere(monkeypatch, settings, service,
                                                                             production, preview, register):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    settings.BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION = True
    release = register("1.0.0")

    there = {i.name: i for i in gates.evaluate(release, production).inputs}["branch-protection"]
    elsewhere = {i.name: i for i in gates.evaluate(release, preview).inputs}["branch-protection"]

    assert (there.verdict, there.code) == ("pending", "not-checked") and "requires a passing review" in there.message
    assert gates.evaluate(release, production).decision != "allow"
    assert (elsewhere.verdict, elsewhere.code) == ("allow", "not-checked")


@pytest.mark.django_db
def test_admin__reviews_are_shown_read_only_with_the_differences(fake, shop, client, administrator):
    fake.on(PROTECTION, _ok(shape("branch_protection.json"))).on(RULES, _ok([]))
    review = branch_protection.review_service(shop)
    client.force_login(administrator)
    listing = client.get(reverse("admin:releases_branchprotectionreview_changelist")).content.decode()
    assert "mismatch" in listing and "acme/shop" in listing
    page = client.get(reverse("admin:releases_branchprotectionreview_change", args=[review.pk]))
    assert page.status_code == 200 and "force pushes are allowed" in page.content.decode()
    assert client.post(reverse("admin:releases_branchprotectionreview_change", args=[review.pk]),
                       {}).status_code == 403


@pytest.mark.django_db
def test_admin_home__a_mismatch_needs_attention_until_the_branch_is_fixed(fake, shop, client, release_manager,
                                                                          settings):
    fake.on(PROTECTION, _ok(shape("branch_protection.json"))).on(RULES, _ok([]))
    branch_protection.review_service(shop)
    client.force_login(release_manager)
    shown = "shop: branch protection of acme/shop@main does not match the gate policy"
    assert shown in client.get(reverse("admin:index")).content.decode()

    fake.on(RULES, _ok(shape("rules_branch.json"))).on(RULESET, _ok(shape("ruleset.json")))
    settings.BRANCH_PROTECTION_MIN_REVIEWS = 1
    policy = shop.gate_policies.get(environment__slug="preview")
    policy.required_checks = ["tests"]
    core.save_audited(instance=policy, actor=core.system_user(), reason="test", update_fields=["required_checks"])
    assert branch_protection.review_service(shop).result == "matches"
    assert shown not in client.get(reverse("admin:index")).content.decode()
