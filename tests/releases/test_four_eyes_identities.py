"""Four-eyes on releases holds whoever acts: the approver is not the release's registrar (the token's owner), nor
its author or a committer under another login, e-mail or name (any case), and never a service account."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from governance import roles
from releases import queries as release_queries
from releases import services as release_services
from releases.models import Approval
from tests.releases.conftest import COMMITS

# Release: author "Dana" (by name), commits by "Dana <dana@example.com>" and "Eve <eve@example.com>".
APPROVERS = {
    # kind: (username, email, first name, last name, may approve)
    "author-login-other-case": ("DANA", "", "", "", False),
    "committer-email-other-case": ("e.v.e", "Eve@Example.COM", "", "", False),
    "committer-full-name": ("dm", "dm@corp.example", "Dana", "", False),
    "committer-name-other-case": ("ej", "ej@corp.example", "EVE", "", False),
    "unrelated-person": ("ralph", "ralph@corp.example", "Ralph", "Stone", True),
}


@pytest.fixture
def dana_release(register):
    return register("1.0.0", author="Dana", commits=COMMITS)


@pytest.mark.parametrize("kind", sorted(APPROVERS))
def test_release_approver_identity__refused_when_it_matches_an_author_or_committer(
        make_user, dana_release, production, kind):
    username, email, first, last, allowed = APPROVERS[kind]
    approver = make_user(username, roles.RELEASE_MANAGER)
    approver.email, approver.first_name, approver.last_name = email, first, last
    approver.save()

    if allowed:
        release_services.approve_release(release=dana_release, environment=production, actor=approver, reason="ok")
        assert Approval.objects.filter(approver=approver).count() == 1
        return
    with pytest.raises(ValidationError, match="approvals need another person"):
        release_services.approve_release(release=dana_release, environment=production, actor=approver, reason="ok")
    assert not Approval.objects.exists()


def test_release_registered_with_my_token__i_cannot_approve_it(register, production, release_manager, make_token,
                                                                api, service):
    secret = make_token("releases:write", owner=release_manager, name="rita's laptop")
    response = api(secret).post("/api/v1/releases", {
        "service": "shop", "version": "2.0.0", "tag": "v2.0.0", "build_sha": "d" * 40, "author": "someone-else",
        "commits": [], "reason": "cut"}, format="json")
    assert response.status_code == 201, response.json()
    release = release_queries.Release.objects.get(version="2.0.0")
    assert release_queries.registered_by(release) == release_manager

    with pytest.raises(ValidationError, match="made this change"):
        release_services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")


def test_service_account_with_the_release_manager_role__never_approves(dana_release, production, ci_user):
    from django.contrib.auth.models import Group

    ci_user.groups.add(Group.objects.get(name=roles.RELEASE_MANAGER))  # even if someone gives it the role
    assert ci_user.has_perm("releases.add_approval")

    with pytest.raises(ValidationError, match="service account"):
        release_services.approve_release(release=dana_release, environment=production, actor=ci_user, reason="ok")
    assert release_queries.standing_approvals(dana_release, production) == []


def test_release_registered_with_a_service_account_token__its_issuer_cannot_approve(
        production, release_manager, second_manager, ci_user, api, service):
    from datetime import timedelta

    from django.utils import timezone

    from governance import services as core

    # rita issues a CI token for the service account, registers a release through it, then tries to approve.
    secret = core.create_token(name="shop CI", owner=ci_user, scopes=["releases:write"], actor=release_manager,
                               reason="CI", expires_at=timezone.now() + timedelta(days=1)).secret
    response = api(secret).post("/api/v1/releases", {"service": "shop", "version": "3.0.0", "build_sha": "e" * 40,
                                                     "reason": "cut"}, format="json")
    assert response.status_code == 201, response.json()
    release = release_queries.Release.objects.get(version="3.0.0")

    with pytest.raises(ValidationError, match="issued the token"):
        release_services.approve_release(release=release, environment=production, actor=release_manager, reason="ok")
    release_services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
    assert [a.approver for a in release_queries.standing_approvals(release, production)] == [second_manager]
