"""The permission matrix of the core app's roles, pinned exactly."""

from django.contrib.auth.models import Group

from governance import roles

CORE_VIEW = {
    "governance.view_service", "governance.view_environment", "governance.view_auditevent",
    "governance.view_auditexport", "governance.view_heartbeat", "governance.view_idempotencyrecord",
    "governance.view_historicalservice", "governance.view_historicalenvironment",
    "governance.view_historicalapitoken", "governance.view_auditcheckpoint", "governance.view_auditsigningkey",
    "governance.view_serviceaccount", "governance.view_historicalserviceaccount",
}
EXPECTED_CORE = {
    roles.OPERATOR: CORE_VIEW,
    roles.RELEASE_MANAGER: CORE_VIEW,
    roles.MAINTENANCE_ADMIN: CORE_VIEW,
    roles.AUDITOR: CORE_VIEW | {"governance.view_apitoken", "governance.export_auditevent"},
    roles.ADMINISTRATOR: CORE_VIEW | {
        "governance.view_apitoken", "governance.add_apitoken", "governance.change_apitoken",
        "governance.delete_apitoken", "governance.add_service", "governance.change_service",
        "governance.delete_service", "governance.add_environment", "governance.change_environment",
        "governance.delete_environment", "governance.export_auditevent", "governance.delete_idempotencyrecord",
        "governance.add_serviceaccount", "governance.change_serviceaccount",
    },
}


def _perms(group: Group, app: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
            if p.content_type.app_label == app}


def test_roles__exist_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_core_permissions__match_the_matrix_exactly(db):
    for role, expected in EXPECTED_CORE.items():
        assert _perms(Group.objects.get(name=role), "governance") == expected, role


def test_nobody__may_edit_audit_history(db):
    for group in Group.objects.filter(name__in=roles.ROLES):
        codenames = {p.codename for p in group.permissions.all()}
        assert not {c for c in codenames if c.startswith(("change_historical", "delete_historical",
                                                          "add_historical"))}, group.name
        assert not codenames & {"change_auditevent", "delete_auditevent", "add_auditevent"}, group.name


def test_only_auditors_and_administrators__may_export(db):
    exporters = {g.name for g in Group.objects.filter(permissions__codename="export_auditevent")}
    assert exporters == {roles.AUDITOR, roles.ADMINISTRATOR}


def test_administrator__may_manage_users_but_not_groups(db):
    perms = _perms(Group.objects.get(name=roles.ADMINISTRATOR), "auth")
    assert perms == {"auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group"}


# Freeze windows and the recurring freezes that make them: the same roles may edit both (releases 0004).
FREEZE_ACTIONS = {
    roles.OPERATOR: {"view"},
    roles.RELEASE_MANAGER: {"view", "add", "change"},
    roles.AUDITOR: {"view"},
    roles.MAINTENANCE_ADMIN: {"view"},
    roles.ADMINISTRATOR: {"view", "add", "change", "delete"},
}


def test_recurring_freezes__are_edited_by_whoever_edits_freeze_windows(db):
    for role, actions in FREEZE_ACTIONS.items():
        perms = _perms(Group.objects.get(name=role), "releases")
        for model in ("freezewindow", "recurringfreeze"):
            held = {a for a in ("view", "add", "change", "delete") if f"releases.{a}_{model}" in perms}
            assert held == actions, (role, model)
        assert "releases.view_historicalrecurringfreeze" in perms, role
