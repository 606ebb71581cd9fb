"""Who may do what with chaos drills (governance/roles.py, app "chaos")."""

from django.contrib.auth.models import Group

from governance import roles


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {p.codename for p in group.permissions.filter(content_type__app_label="chaos")}


def test_every_on_call_role__may_halt_all_chaos_and_only_they(db):
    halters = {g.name for g in Group.objects.filter(permissions__codename="halt_chaos")}
    assert halters == {roles.OPERATOR, roles.MAINTENANCE_ADMIN, roles.ADMINISTRATOR}


def test_maintenance_admins__run_drills_and_nobody_deletes_evidence(db):
    assert {"add_run", "add_experiment", "change_experiment", "add_fault", "change_fault"} <= _perms(
        roles.MAINTENANCE_ADMIN)
    assert "add_run" not in _perms(roles.OPERATOR) and "add_run" not in _perms(roles.RELEASE_MANAGER)
    for role in roles.ROLES:
        assert not {"delete_run", "delete_fault"} & _perms(role), role
    assert _perms(roles.AUDITOR) == {p for p in _perms(roles.AUDITOR) if p.startswith("view_")}
