"""Who may change who-may-do-what in the admin: every role × every user/group operation, by admin POSTs.

Only superusers grant superuser or single permissions, touch a superuser's account, reset another person's
password or change roles' permissions; Administrators assign roles and manage accounts; the other roles change
nothing. Every change that happens has an audit event with the actor and the reason; a refused one leaves no
trace in the tables.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from governance import roles
from governance.models import AuditEvent
from governance.services_users import group_state, user_state

User = get_user_model()
REASON = "ticket ACC-7"
SUPERUSER = "superuser"
ACTORS = [SUPERUSER, *roles.ROLES]


def _change_data(user, **overrides):
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "is_staff": "on" if user.is_staff else "", "is_active": "on" if user.is_active else "",
            "groups": [g.pk for g in user.groups.all()], "reason": REASON}
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def _perm(label):
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def make_superuser(client, tina, sam):
    return client.post(reverse("admin:auth_user_change", args=[tina.pk]), _change_data(tina, is_superuser="on"))


def grant_single_permission(client, tina, sam):
    return client.post(reverse("admin:auth_user_change", args=[tina.pk]),
                       _change_data(tina, user_permissions=[_perm("flags.change_flag").pk]))


def assign_role(client, tina, sam):
    groups = [g.pk for g in tina.groups.all()] + [Group.objects.get(name=roles.RELEASE_MANAGER).pk]
    return client.post(reverse("admin:auth_user_change", args=[tina.pk]), _change_data(tina, groups=groups))


def deactivate(client, tina, sam):
    return client.post(reverse("admin:auth_user_change", args=[tina.pk]), _change_data(tina, is_active=""))


def add_user_with_role(client, tina, sam):
    return client.post(reverse("admin:auth_user_add"), {
        "username": "newbie", "usable_password": "true", "password1": "a-long-Passphrase-42",
        "password2": "a-long-Passphrase-42", "is_staff": "on",
        "groups": [Group.objects.get(name=roles.OPERATOR).pk], "reason": REASON})


def add_superuser(client, tina, sam):
    return client.post(reverse("admin:auth_user_add"), {
        "username": "shadow", "usable_password": "false", "is_superuser": "on", "is_staff": "on", "reason": REASON})


def reset_someones_password(client, tina, sam):
    return client.post(reverse("admin:auth_user_password_change", args=[tina.pk]), {
        "usable_password": "true", "password1": "a-long-Passphrase-43", "password2": "a-long-Passphrase-43",
        "reason": REASON})


def edit_a_superuser(client, tina, sam):
    return client.post(reverse("admin:auth_user_change", args=[sam.pk]), _change_data(sam, first_name="Mallory"))


def widen_a_role(client, tina, sam):
    group = Group.objects.get(name=roles.OPERATOR)
    perms = [p.pk for p in group.permissions.all()] + [_perm("auth.change_user").pk]
    return client.post(reverse("admin:auth_group_change", args=[group.pk]),
                       {"name": group.name, "permissions": perms, "reason": REASON})


def add_a_role(client, tina, sam):
    return client.post(reverse("admin:auth_group_add"), {"name": "Shadow admins",
                                                         "permissions": [_perm("auth.change_user").pk],
                                                         "reason": REASON})


OPERATIONS = [make_superuser, grant_single_permission, assign_role, deactivate, add_user_with_role, add_superuser,
              reset_someones_password, edit_a_superuser, widen_a_role, add_a_role]
# add_superuser: the superuser box is not on an Administrator's form, so the account is made as a plain one (the
# privilege check below proves the box had no effect).
ADMINISTRATOR_MAY = {assign_role, deactivate, add_user_with_role, add_superuser}


def _allowed(actor: str, operation) -> bool:
    if actor == SUPERUSER:
        return True
    return actor == roles.ADMINISTRATOR and operation in ADMINISTRATOR_MAY


def _privileges():
    """Who is superuser, who holds single permissions, what each role grants: only superusers change these."""
    return (set(User.objects.filter(is_superuser=True).values_list("username", flat=True)),
            {u.username: user_state(u)["user_permissions"] for u in User.objects.exclude(user_permissions=None)},
            {g.name: group_state(g)["permissions"] for g in Group.objects.all()})


def _world():
    users = {u.username: (user_state(u), u.password) for u in User.objects.order_by("pk")}
    groups = {g.name: group_state(g) for g in Group.objects.order_by("pk")}
    return users, groups


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("actor", ACTORS)
def test_user_and_role_operation__changes_data_only_where_the_grant_rule_allows(client, make_user, actor, operation):
    tina = make_user("tina", roles.OPERATOR)
    sam = make_user("sam", superuser=True)
    acting = make_user("acting", None if actor == SUPERUSER else actor, superuser=actor == SUPERUSER)
    client.force_login(acting)
    before, events_before, privileges = _world(), AuditEvent.objects.count(), _privileges()

    response = operation(client, tina, sam)

    assert response.status_code < 500
    after = _world()
    events = list(AuditEvent.objects.order_by("id")[events_before:])
    if actor != SUPERUSER:
        assert _privileges() == privileges, f"{actor} changed a privilege with {operation.__name__}"
    if _allowed(actor, operation):
        assert after != before, f"{actor} could not {operation.__name__}: {response.status_code}"
        assert events, "an allowed change without an audit event"
        assert {(e.actor_id, e.reason) for e in events} == {(acting.pk, REASON)}
        assert all(e.changes for e in events)
    else:
        assert after == before, f"{actor} managed to {operation.__name__}"
        assert events == []
