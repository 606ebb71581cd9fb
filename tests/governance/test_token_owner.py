"""A token belongs to whoever creates it or to a service account, and its restrictions are in its audit record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from governance import roles, services, services_users
from governance.models import ApiToken, AuditEvent


def _issue(owner, actor, **kwargs):
    return services.create_token(name="ci", owner=owner, scopes=["releases:write"], actor=actor, reason="ACC-3",
                                 expires_at=timezone.now() + timedelta(days=1), **kwargs)


@pytest.mark.parametrize("owner_kind, allowed", [("self", True), ("service-account", True),
                                                 ("another-person", False), ("system-user", False)])
def test_token_owner__creator_or_service_account_only(make_user, administrator, ci_user, system_user, owner_kind,
                                                      allowed):
    owner = {"self": administrator, "service-account": ci_user, "another-person": make_user("rita", roles.OPERATOR),
             "system-user": system_user}[owner_kind]
    if allowed:
        assert _issue(owner, administrator).token.owner == owner
        return
    with pytest.raises(ValidationError, match="belongs to the person who creates it"):
        _issue(owner, administrator)
    assert not ApiToken.objects.exists()


def test_admin_add_token_for_another_person__refused_and_nothing_saved(client, administrator, make_user):
    rita = make_user("rita", roles.RELEASE_MANAGER)
    client.force_login(administrator)

    response = client.post(reverse("admin:governance_apitoken_add"), {
        "name": "rita's CI", "owner": rita.pk, "scopes": ["releases:write"], "expires_at_0": "2099-01-01",
        "expires_at_1": "00:00:00", "reason": "two names"})

    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not ApiToken.objects.exists()


def test_rotating_another_persons_token__refused(make_user, administrator):
    rita = make_user("rita", roles.RELEASE_MANAGER)
    token = _issue(rita, rita).token

    with pytest.raises(ValidationError, match="belongs to the person who creates it"):
        services.rotate_token(token=token, actor=administrator, reason="steal it")

    token.refresh_from_db()
    assert token.rotated_to is None and token.is_active()


def test_token_restrictions__recorded_in_its_audit_event(administrator, ci_user, service, production):
    token = _issue(ci_user, administrator, services=[service], environments=[production]).token

    [event] = AuditEvent.objects.filter(model="governance.apitoken", object_id=str(token.pk))
    changes = {c["field"]: c["new"] for c in event.changes}
    assert (changes["services"], changes["environments"]) == (["shop"], ["production"])
    assert event.actor == administrator and event.reason == "ACC-3"


def test_service_account_created__audited_and_cannot_log_in(administrator):
    account = services_users.create_service_account(username="shop-ci", description="shop pipelines",
                                                    actor=administrator, reason="ACC-4")

    assert not account.user.has_usable_password() and not account.user.is_staff
    assert services_users.is_service_account(account.user)
    models = set(AuditEvent.objects.filter(actor=administrator).values_list("model", flat=True))
    assert models == {"auth.user", "governance.serviceaccount"}
