"""Approvals sign the evidence digest, expire, need another person, and any evidence change voids them."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from governance import services as core
from releases import gates, queries, services
from releases.models import Approval, Release
from tests.releases.conftest import COMMITS, commits_json


def _approvals_input(release, production):
    return next(i for i in gates.evaluate(release, production).inputs if i.name == "approvals")


def test_approve__signs_the_digest_with_actor_reason_and_expiry(release, production, release_manager, gate_policy):
    gate_policy(approvals_required=1, approval_ttl_hours=8)
    approval = services.approve_release(release=release, environment=production, actor=release_manager,
                                        reason="evidence reviewed")
    assert approval.evidence_digest == release.evidence_digest
    assert approval.expires_at - approval.created_at == timedelta(hours=8)
    record = approval.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "evidence reviewed")
    assert _approvals_input(release, production).verdict == "allow"


def test_approving_twice__keeps_one_standing_approval(release, production, release_manager):
    first = services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    again = services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    assert first.pk == again.pk and Approval.objects.count() == 1


def test_committer__cannot_approve(release, production, make_user):
    from governance import roles

    dana = make_user("dana.m", roles.RELEASE_MANAGER)
    dana.email = "dana@example.com"  # the author of the first commit, by email
    dana.save()
    with pytest.raises(ValidationError, match="approvals need another person"):
        services.approve_release(release=release, environment=production, actor=dana, reason="mine")


def test_release_author__cannot_approve(register, production, release_manager):
    release = register("1.0.0", author="rita")
    with pytest.raises(ValidationError, match="approvals need another person"):
        services.approve_release(release=release, environment=production, actor=release_manager, reason="mine")


def test_operator__cannot_approve(release, production, operator):
    with pytest.raises(ValidationError, match="is not a release manager"):
        services.approve_release(release=release, environment=production, actor=operator, reason="please")


def test_expired_approval__no_longer_counts(release, production, release_manager, gate_policy, system_user):
    gate_policy(approvals_required=1, approval_ttl_hours=2)
    approval = services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    approval.created_at -= timedelta(hours=2, minutes=1)
    approval.expires_at -= timedelta(hours=2, minutes=1)
    core.save_audited(instance=approval, actor=system_user, reason="test: the approval is two hours old",
                      update_fields=["created_at", "expires_at"])
    approvals = _approvals_input(release, production)
    assert (approvals.verdict, approvals.details["approvers"]) == ("pending", [])
    renewed = services.approve_release(release=release, environment=production, actor=release_manager,
                                       reason="still fine")
    assert _approvals_input(release, production).verdict == "allow"
    assert Approval.objects.filter(voided_at__isnull=False).get().void_reason == "expired; approved again"
    assert renewed.voided_at is None


def test_evidence_change__voids_approvals_and_the_gate_waits_again(api, make_token, service, production,
                                                                     release_manager):
    ci = api(make_token("releases:write"))
    body = {"service": "shop", "version": "2.0.0", "build_sha": "a" * 40, "commits": commits_json()}
    release = Release.objects.get(pk=ci.post("/api/v1/releases", body, format="json").json()["id"])
    approval = services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    assert _approvals_input(release, production).verdict == "allow"

    amended = ci.post("/api/v1/releases", {**body, "build_sha": "b" * 40, "replace": True}, format="json")
    assert amended.status_code == 200
    release.refresh_from_db()
    approval.refresh_from_db()
    assert approval.voided_at is not None and approval.void_reason.startswith("evidence changed")
    assert approval.history.latest().history_change_reason.startswith("evidence changed")
    assert _approvals_input(release, production).verdict == "pending"
    assert queries.standing_approvals(release, production) == []


def test_evidence_of_a_live_release__cannot_change(register, production, system_user):
    release = register("1.0.0")
    services.record_deployment(release=release, environment=production, status="succeeded", actor=system_user,
                               reason="ci deployed")
    with pytest.raises(services.Conflict, match="cannot change"):
        services.register_release(service=release.service, version="1.0.0", build_sha="f" * 40, commits=COMMITS,
                                  replace=True, actor=system_user, reason="amend")


def test_checks_passing__move_the_release_to_awaiting_approval(release, production, gate_policy, system_user):
    gate_policy(required_checks=["tests"], approvals_required=1)
    services.report_check(release=release, name="tests", status="success", actor=system_user, reason="ci")
    release.refresh_from_db()
    assert release.state == "awaiting_approval"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvals_at_once__both_count_and_a_duplicate_does_not(register, production, release_manager,
                                                                    second_manager, gate_policy):
    gate_policy(approvals_required=2)
    release = register("3.0.0")
    barrier = threading.Barrier(4)
    errors = []

    def approve(user):
        try:
            barrier.wait()
            services.approve_release(release=release, environment=production, actor=user, reason="concurrent")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,))
               for u in (release_manager, release_manager, second_manager, second_manager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Approval.objects.filter(release=release).count() == 2
    assert _approvals_input(release, production).verdict == "allow"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_approval_racing_an_evidence_change__never_signs_stale_evidence(register, production, release_manager,
                                                                       system_user):
    release = register("4.0.0")
    barrier = threading.Barrier(2)

    def approve():
        try:
            barrier.wait()
            services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
        finally:
            connection.close()

    def amend():
        try:
            barrier.wait()
            services.register_release(service=release.service, version="4.0.0", build_sha="9" * 40,
                                      commits=COMMITS, replace=True, actor=system_user, reason="rebuild")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve), threading.Thread(target=amend)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    release.refresh_from_db()
    standing = Approval.objects.filter(release=release, voided_at__isnull=True)
    # Either the approval came first and was voided, or it came second and signed the new digest.
    assert all(a.evidence_digest == release.evidence_digest for a in standing)


def test_gate_policy_edit__is_audited(gate_policy, system_user):
    policy = gate_policy(approvals_required=2)
    policy.approvals_required = 3
    core.save_audited(instance=policy, actor=system_user, reason="two-person rule plus one",
                      update_fields=["approvals_required"])
    assert policy.history.latest().history_change_reason == "two-person rule plus one"


def test_approval_status__words_for_standing_expired_stale_and_voided(release, production, release_manager):
    approval = services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    assert queries.approval_status(approval, release).startswith("standing until ")
    assert queries.approval_status(approval, release, approval.expires_at) == "expired"
    release.evidence_digest = "0" * 64
    assert queries.approval_status(approval, release) == "signed earlier evidence"
    approval.voided_at, approval.void_reason = approval.created_at, "evidence amended"
    assert queries.approval_status(approval, release) == "voided: evidence amended"


def test_a_failing_required_check__refuses_the_approval_in_the_service_itself(release, production, release_manager,
                                                                              gate_policy, system_user):
    # the API and govctl reach approve_release without the admin page: the rule lives in the service
    gate_policy(required_checks=["security-scan"], approvals_required=1)
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    with pytest.raises(ValidationError, match="the gate blocks: required-checks"):
        services.approve_release(release=release, environment=production, actor=release_manager, reason="ship it")
    assert not Approval.objects.filter(release=release).exists()
    services.report_check(release=release, name="security-scan", status="success", actor=system_user, reason="fixed")
    services.approve_release(release=release, environment=production, actor=release_manager, reason="ship it")
    assert Approval.objects.filter(release=release).count() == 1
