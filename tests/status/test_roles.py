"""Who may do what with the status models (the role matrix, pinned)."""

from django.contrib.auth.models import Group

from governance import roles


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {p.codename for p in group.permissions.filter(content_type__app_label="status")
            if "historical" not in p.codename}


def test_auditor__only_views(db):
    perms = _perms(roles.AUDITOR)
    assert {"view_component", "view_incident", "view_incidentupdate", "view_componentgroup", "view_subscriber",
            "view_webhooksubscriber", "view_uptimeday"} == perms


def test_on_call_roles__write_incidents_and_components_but_delete_nothing(db):
    for role in (roles.OPERATOR, roles.RELEASE_MANAGER, roles.MAINTENANCE_ADMIN):
        perms = _perms(role)
        assert {"add_incident", "change_incident", "change_component"} <= perms, role
        assert not {p for p in perms if p.startswith("delete_")}, role


def test_webhook_subscribers__only_administrators_set_them_up(db):
    for role in (roles.OPERATOR, roles.RELEASE_MANAGER, roles.MAINTENANCE_ADMIN):
        assert not {"add_webhooksubscriber", "change_webhooksubscriber"} & _perms(role), role
    assert {"add_webhooksubscriber", "change_webhooksubscriber"} <= _perms(roles.ADMINISTRATOR)
