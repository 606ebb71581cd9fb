"""Who may do what with the observability models (the role matrix, pinned)."""

from django.contrib.auth.models import Group

from governance import roles


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {p.codename for p in group.permissions.filter(content_type__app_label="observability")
            if "historical" not in p.codename}


def test_auditor__only_views(db):
    perms = _perms(roles.AUDITOR)
    assert perms and all(p.startswith("view_") for p in perms)
    assert {"view_slo", "view_slosnapshot", "view_sloalert", "view_errorbudgetoverride"} <= perms


def test_operator__views_and_may_acknowledge_alerts_only(db):
    perms = _perms(roles.OPERATOR)
    assert {p for p in perms if not p.startswith("view_")} == {"change_sloalert"}


def test_release_manager__edits_slos_and_grants_overrides_but_deletes_nothing(db):
    perms = _perms(roles.RELEASE_MANAGER)
    assert {"add_slo", "change_slo", "add_errorbudgetoverride", "change_errorbudgetoverride"} <= perms
    assert not {p for p in perms if p.startswith("delete_")}


def test_maintenance_admin__only_views(db):
    assert all(p.startswith("view_") for p in _perms(roles.MAINTENANCE_ADMIN))
