"""Who may do what in the recovery app, pinned: Maintenance admins run drills, nobody deletes evidence."""

from django.contrib.auth.models import Group

from governance import roles

VIEW = {"recovery.view_backuptarget", "recovery.view_backup", "recovery.view_drill",
        "recovery.view_historicalbackuptarget"}
EDIT = VIEW | {"recovery.add_backuptarget", "recovery.change_backuptarget", "recovery.add_backup",
               "recovery.change_backup", "recovery.add_drill", "recovery.change_drill"}
EXPECTED = {
    roles.OPERATOR: VIEW,
    roles.RELEASE_MANAGER: VIEW,
    roles.AUDITOR: VIEW,
    roles.MAINTENANCE_ADMIN: EDIT,
    roles.ADMINISTRATOR: EDIT | {"recovery.delete_backuptarget"},
}


def _perms(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
            if p.content_type.app_label == "recovery"}


def test_recovery_permissions__match_the_matrix_exactly(db):
    for role, expected in EXPECTED.items():
        assert _perms(Group.objects.get(name=role)) == expected, role


def test_only_maintenance_admins_and_administrators__may_run_drills(db):
    runners = {g.name for g in Group.objects.filter(permissions__codename="add_drill")}
    assert runners == {roles.MAINTENANCE_ADMIN, roles.ADMINISTRATOR}
