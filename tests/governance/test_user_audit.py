"""Changes to accounts and roles land in the audit timeline and its export: actor, reason, before/after
(group membership and permissions included), never a password or its hash; the grant rule holds in the service
whatever the caller."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from governance import admin_users, audit_exports, roles, services_users
from governance.models import AuditEvent


def _events(obj):
    return list(AuditEvent.objects.filter(model=obj._meta.label_lower, object_id=str(obj.pk)).order_by("id"))


def test_role_assigned__event_has_actor_reason_and_membership_diff(make_user, administrator):
    tina = make_user("tina", roles.OPERATOR)

    services_users.update_user(user=tina, groups=[roles.OPERATOR, roles.RELEASE_MANAGER], actor=administrator,
                               reason="on call rota ACC-1")

    [event] = _events(tina)
    assert (event.actor, event.reason, event.change) == (administrator, "on call rota ACC-1", "~")
    assert event.changes == [{"field": "groups", "old": [roles.OPERATOR],
                              "new": sorted([roles.OPERATOR, roles.RELEASE_MANAGER])}]
    assert event.history_id is None


def test_password_set__audited_without_the_secret_or_its_hash(make_user, system_user):
    tina = make_user("tina", roles.OPERATOR)

    services_users.set_password(user=tina, password="a-long-Passphrase-42", actor=system_user, reason="reset ACC-2")

    tina.refresh_from_db()
    [event] = _events(tina)
    text = json.dumps(event.changes)
    assert event.changes[0]["field"] == "password" and event.reason == "reset ACC-2"
    assert "Passphrase" not in text and tina.password not in text and "pbkdf2" not in text and "md5" not in text


def test_own_password_changed_in_the_admin__is_audited(client, make_user):
    tina = make_user("tina", roles.OPERATOR)
    client.force_login(tina)

    response = client.post("/admin/password_change/", {"old_password": "pw-for-tests-only",
                                                       "new_password1": "a-long-Passphrase-44",
                                                       "new_password2": "a-long-Passphrase-44"})

    assert response.status_code == 302
    tina.refresh_from_db()
    assert tina.check_password("a-long-Passphrase-44")
    [event] = _events(tina)
    assert (event.actor, event.reason) == (tina, admin_users.SELF_SERVICE_REASON)


def test_user_change__is_in_the_hash_chained_export(make_user, administrator):
    tina = make_user("tina", roles.OPERATOR)
    services_users.update_user(user=tina, is_active=False, actor=administrator, reason="left the company")

    lines = [json.loads(line) for line in audit_exports.export_audit(actor=administrator,
                                                                    filters=audit_exports.AuditFilters())]

    mine = [r for r in lines if r.get("model") == "auth.user" and r["object_id"] == str(tina.pk)]
    assert [(r["actor"], r["reason"], r["changes"]) for r in mine] == [
        ("ada", "left the company", [{"field": "is_active", "old": True, "new": False}])]
    assert all("hash" in r for r in mine)


@pytest.mark.parametrize("changes", [{"is_superuser": True}, {"user_permissions": ["flags.change_flag"]}],
                         ids=["superuser", "single-permission"])
def test_administrator_grants_past_the_roles_through_the_service__refused_and_nothing_written(
        make_user, administrator, changes):
    tina = make_user("tina", roles.OPERATOR)
    before = services_users.user_state(tina)

    with pytest.raises(services_users.NotAllowed, match="Only a superuser"):
        services_users.update_user(user=tina, actor=administrator, reason="try", **changes)

    tina.refresh_from_db()
    assert services_users.user_state(tina) == before and _events(tina) == []


def test_role_permissions_changed_by_a_superuser__event_lists_added_permissions(make_user):
    root = make_user("root", superuser=True)
    group = Group.objects.get(name=roles.AUDITOR)
    labels = services_users.group_state(group)["permissions"]

    services_users.save_group(group=group, name=group.name, permissions=[*labels, "flags.change_flag"], actor=root,
                              reason="temporary incident access")

    [event] = _events(group)
    assert event.changes == [{"field": "permissions", "old": labels, "new": sorted([*labels, "flags.change_flag"])}]


def test_account_change_without_a_reason__refused(make_user, administrator):
    tina = make_user("tina", roles.OPERATOR)

    with pytest.raises(ValidationError, match="reason"):
        services_users.update_user(user=tina, is_active=False, actor=administrator, reason="  ")

    tina.refresh_from_db()
    assert tina.is_active and _events(tina) == []
