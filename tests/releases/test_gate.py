"""The gate lists every input with its verdict: state, checks, soak, approvals, freezes, provider, hooks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import hooks
from governance import services as core
from governance.hooks import GateInput
from releases import gates, services
from releases.models import Deployment, FreezeWindow


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("releases:write", "checks:write"))


def _inputs(decision):
    return {i.name: i for i in decision.inputs}


def _approve(release, manager, production):
    return services.approve_release(release=release, environment=production, actor=manager, reason="looks good")


def test_gate_api__lists_every_input_with_a_verdict(ci, release):
    response = ci.get(f"/api/v1/releases/{release.pk}/gate", {"environment": "production"})
    assert response.status_code == 200
    gate = response.json()
    names = [i["name"] for i in gate["inputs"]]
    assert set(names) >= {"release-state", "required-checks", "soak-time", "approvals", "freeze-window",
                          "deploy-provider"}
    assert names == list(hooks.GATE_INPUTS)  # one entry per registered input, other apps' included
    assert all(set(i) == {"name", "verdict", "code", "message", "details"} for i in gate["inputs"])
    # The default production policy asks for one approval.
    assert gate["decision"] == "pending"
    approvals = next(i for i in gate["inputs"] if i["name"] == "approvals")
    assert (approvals["verdict"], approvals["code"]) == ("pending", "approvals-missing")


def test_gate_api__needs_a_known_environment(ci, release):
    assert ci.get(f"/api/v1/releases/{release.pk}/gate").status_code == 400
    missing = ci.get(f"/api/v1/releases/{release.pk}/gate", {"environment": "moon"})
    assert missing.status_code == 404 and "No environment 'moon'" in missing.json()["detail"]


def test_required_checks__missing_pending_then_failed_then_passed(release, production, gate_policy, system_user):
    gate_policy(required_checks=["tests", "security-scan"], approvals_required=0)
    check = _inputs(gates.evaluate(release, production))["required-checks"]
    assert (check.verdict, check.details["statuses"]) == ("pending", {"tests": "missing", "security-scan": "missing"})
    services.report_check(release=release, name="tests", status="success", actor=system_user, reason="ci")
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    check = _inputs(gates.evaluate(release, production))["required-checks"]
    assert (check.verdict, check.code, check.message) == ("block", "check-failed", "failed: security-scan")
    services.report_check(release=release, name="security-scan", status="neutral", actor=system_user, reason="ci")
    decision = gates.evaluate(release, production)
    assert _inputs(decision)["required-checks"].verdict == "allow"
    assert decision.decision == "allow"


def test_soak_time__pending_until_the_release_soaked_in_the_previous_environment(
        release, production, preview, gate_policy, system_user):
    gate_policy(min_soak_minutes=60, approvals_required=0)
    soak = _inputs(gates.evaluate(release, production))["soak-time"]
    assert (soak.verdict, soak.code) == ("pending", "not-deployed-to-previous")
    assert "deploy 1.0.0 to preview first" in soak.message
    now = timezone.now()
    services.record_deployment(release=release, environment=preview, status="succeeded", actor=system_user,
                               reason="ci", finished_at=now - timedelta(minutes=20))
    soak = _inputs(gates.evaluate(release, production))["soak-time"]
    assert (soak.verdict, soak.code, soak.details["soaked_minutes"]) == ("pending", "soaking", 20)
    assert "40 min to go" in soak.message
    first = Deployment.objects.get(release=release)
    first.finished_at = now - timedelta(minutes=61)
    core.save_audited(instance=first, actor=system_user, reason="test: the deployment was earlier",
                      update_fields=["finished_at"])
    assert _inputs(gates.evaluate(release, production))["soak-time"].verdict == "allow"


def test_freeze_window__blocks_until_an_audited_override(release, production, release_manager, system_user):
    now = timezone.now()
    window = FreezeWindow(title="Black Friday", environment=production, starts_at=now - timedelta(hours=1),
                          ends_at=now + timedelta(hours=5))
    core.save_audited(instance=window, actor=system_user, reason="retail freeze")
    freeze = _inputs(gates.evaluate(release, production))["freeze-window"]
    assert (freeze.verdict, freeze.code) == ("block", "frozen") and "Black Friday" in freeze.message
    [override] = services.override_freeze(release=release, environment=production, actor=release_manager,
                                          reason="payment outage fix")
    assert override.history.latest().history_change_reason == "payment outage fix"
    freeze = _inputs(gates.evaluate(release, production))["freeze-window"]
    assert (freeze.verdict, freeze.code) == ("allow", "freeze-overridden") and "payment outage fix" in freeze.message


def test_freeze_of_another_service__does_not_block(release, production, other_service, system_user):
    now = timezone.now()
    core.save_audited(instance=FreezeWindow(title="billing freeze", service=other_service, environment=production,
                                            starts_at=now, ends_at=now + timedelta(hours=1)),
                      actor=system_user, reason="billing migration")
    assert _inputs(gates.evaluate(release, production))["freeze-window"].verdict == "allow"


def test_hooked_input__is_listed_and_its_failure_blocks_without_a_500(ci, release, monkeypatch):
    monkeypatch.setitem(hooks.GATE_INPUTS, "error-budget",
                        lambda *, release, environment: GateInput("error-budget", "allow", "ok", "62% left"))

    def broken(*, release, environment):
        raise RuntimeError("budget store down")

    monkeypatch.setitem(hooks.GATE_INPUTS, "schema-plan", broken)
    gate = ci.get(f"/api/v1/releases/{release.pk}/gate", {"environment": "production"}).json()
    by_name = {i["name"]: i for i in gate["inputs"]}
    assert by_name["error-budget"]["verdict"] == "allow"
    assert (by_name["schema-plan"]["verdict"], by_name["schema-plan"]["code"]) == ("block", "input-error")
    assert "budget store down" in by_name["schema-plan"]["message"]
    assert gate["decision"] == "block"


def test_rolled_back_release__is_blocked(release, production, system_user):
    services.record_deployment(release=release, environment=production, status="succeeded", actor=system_user,
                               reason="ci")
    release.refresh_from_db()
    services.transition(release, "rolled_back", actor=system_user, reason="test")
    state = _inputs(gates.evaluate(release, production))["release-state"]
    assert (state.verdict, state.code) == ("block", "rolled-back")


def test_misconfigured_provider__blocks_production(release, production, service, system_user, monkeypatch):
    monkeypatch.delenv("SHOP_HOOK_SECRET", raising=False)
    service.deploy_provider = "webhook"
    service.deploy_settings = {"url": "https://deploy.example.com/hook", "secret_env": "SHOP_HOOK_SECRET"}
    core.save_audited(instance=service, actor=system_user, reason="webhook deploys",
                      update_fields=["deploy_provider", "deploy_settings"])
    release.service.refresh_from_db()
    provider = _inputs(gates.evaluate(release, production))["deploy-provider"]
    assert (provider.verdict, provider.code) == ("block", "provider-misconfigured")
    assert "SHOP_HOOK_SECRET" in provider.message
    monkeypatch.setenv("SHOP_HOOK_SECRET", "s3cret")
    assert _inputs(gates.evaluate(release, production))["deploy-provider"].verdict == "allow"


def test_approvals__allow_once_enough_release_managers_signed(release, production, release_manager, second_manager,
                                                              gate_policy):
    gate_policy(approvals_required=2)
    _approve(release, release_manager, production)
    approvals = _inputs(gates.evaluate(release, production))["approvals"]
    assert (approvals.verdict, approvals.message.split(" ")[0:3]) == ("pending", ["1", "of", "2"])
    _approve(release, second_manager, production)
    approvals = _inputs(gates.evaluate(release, production))["approvals"]
    assert approvals.verdict == "allow" and sorted(approvals.details["approvers"]) == ["ralph", "rita"]
