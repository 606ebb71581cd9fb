"""Who may do what with schema plans and backfills (governance/roles.py MATRIX, app "schemaplans")."""

from django.contrib.auth.models import Group

from governance import roles

MODELS = ["schemaplan", "backfill", "verificationrun", "backfillprogress"]
HISTORY = ["historicalschemaplan", "historicalbackfill"]
VIEW = {f"schemaplans.view_{m}" for m in MODELS + HISTORY}
EDIT = VIEW | {f"schemaplans.{a}_{m}" for a in ("add", "change") for m in MODELS}


def perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
            if p.content_type.app_label == "schemaplans"}


def test_schemaplans_permissions__match_the_matrix(db):
    assert perms(roles.OPERATOR) == VIEW
    assert perms(roles.AUDITOR) == VIEW
    assert perms(roles.RELEASE_MANAGER) == EDIT
    assert perms(roles.MAINTENANCE_ADMIN) == EDIT
    assert perms(roles.ADMINISTRATOR) == EDIT | {f"schemaplans.delete_{m}" for m in MODELS}
