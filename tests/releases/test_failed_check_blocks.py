"""A reported check that fails blocks the gate unless the policy marks it advisory."""

import pytest
from django.core.exceptions import ValidationError

from releases import gates, services
from releases.models import GatePolicy


def _checks(release, production):
    return next(i for i in gates.evaluate(release, production).inputs if i.name == "required-checks")


def test_failed_check_not_required__blocks_the_gate(release, production, gate_policy, system_user):
    gate_policy(required_checks=[], approvals_required=0)
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    decision = gates.evaluate(release, production)
    checks = _checks(release, production)
    assert (checks.verdict, checks.code) == ("block", "check-failed")
    assert "security-scan" in checks.message
    assert decision.decision == "block"


def test_failed_check_marked_advisory__allows_and_still_names_the_failure(release, production, gate_policy,
                                                                          system_user):
    gate_policy(required_checks=[], advisory_checks=["lint"], approvals_required=0)
    services.report_check(release=release, name="lint", status="failure", actor=system_user, reason="ci")
    checks = _checks(release, production)
    assert checks.verdict == "allow"
    assert "advisory, not blocking: lint failed" in checks.message
    assert checks.details["statuses"] == {"lint": "failure"}


def test_failed_check_against_earlier_evidence__does_not_block_a_new_build(register, production, gate_policy,
                                                                           system_user):
    gate_policy(required_checks=[], approvals_required=0)
    release = register("1.0.0")
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    release = register("1.0.0", build_sha="f" * 40, replace=True)
    assert _checks(release, production).verdict == "allow"


def test_policy_naming_a_check_both_required_and_advisory__is_refused(service, production):
    policy = GatePolicy(service=service, environment=production, required_checks=["tests"],
                        advisory_checks=["tests"])
    with pytest.raises(ValidationError, match="both required and advisory"):
        policy.full_clean()
