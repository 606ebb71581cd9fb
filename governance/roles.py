"""The role matrix: which Django permissions each role (group) holds. One place, pinned by a test.

Apps are listed with the actions a role has on all their models; `EXTRA` adds single permissions
and `EXCLUDE` removes some. `sync_roles` is called by data migrations (governance 0002 and each
app's own migration that adds models), so a fresh database always has exact groups.
"""

from __future__ import annotations

from typing import Any

OPERATOR = "Operator"
RELEASE_MANAGER = "Release manager"
AUDITOR = "Auditor"
MAINTENANCE_ADMIN = "Maintenance admin"
ADMINISTRATOR = "Administrator"
ROLES = [OPERATOR, RELEASE_MANAGER, AUDITOR, MAINTENANCE_ADMIN, ADMINISTRATOR]

GOVERNED_APPS = ["governance", "flags", "releases", "schemaplans", "recovery", "observability", "status", "access",
                 "supplychain", "chaos"]
VIEW = {"view"}
EDIT = {"view", "add", "change"}
ALL = {"view", "add", "change", "delete"}

MATRIX: dict[str, dict[str, set[str]]] = {
    OPERATOR: {"governance": VIEW, "flags": EDIT, "releases": VIEW, "schemaplans": VIEW, "recovery": VIEW,
               "observability": VIEW, "status": EDIT, "access": VIEW,  # on call: incidents and component statuses
               "supplychain": VIEW, "chaos": VIEW},  # + halt all chaos (EXTRA)
    RELEASE_MANAGER: {"governance": VIEW, "flags": VIEW, "releases": EDIT, "schemaplans": EDIT, "recovery": VIEW,
                      "observability": EDIT, "status": EDIT, "access": VIEW, "supplychain": EDIT,  # SBOMs, waivers
                      "chaos": VIEW},
    AUDITOR: {app: VIEW for app in GOVERNED_APPS},
    MAINTENANCE_ADMIN: {"governance": VIEW, "flags": VIEW, "releases": VIEW, "schemaplans": EDIT, "recovery": EDIT,
                        "observability": VIEW, "status": EDIT,  # maintenance windows
                        "access": EDIT,  # access policies and reviews, the secrets inventory and rotations
                        "supplychain": VIEW,
                        "chaos": EDIT},  # drills: experiments, runs, faults, chaos policies
    ADMINISTRATOR: {app: ALL for app in GOVERNED_APPS},
}
# Per-model exceptions, as "app_label.codename".
EXTRA: dict[str, set[str]] = {
    AUDITOR: {"governance.export_auditevent"},
    # On call: acknowledging an SLO alert is the runbook's first step (docs/SLOs.md).
    OPERATOR: {"observability.change_sloalert", "chaos.halt_chaos"},
    MAINTENANCE_ADMIN: {"chaos.halt_chaos"},
    ADMINISTRATOR: {"chaos.halt_chaos", "governance.export_auditevent", "auth.view_user", "auth.add_user", "auth.change_user",
                    "auth.view_group"},
}
# Tokens and the audit timeline are read-only or admin-only whatever the app-wide grant says.
# Where the portal POSTs to (status webhook subscribers) is for Administrators to decide.
_STATUS_WEBHOOKS = {"status.add_webhooksubscriber", "status.change_webhooksubscriber"}
# What the portal reads from GitHub (imported audit events, import runs, branch-protection reviews) is written
# only by the import and review services: nobody adds, changes or deletes it in the admin.
_GITHUB_READ_ONLY = {f"releases.{action}_{model}" for action in ("add", "change", "delete") for model in (
    "githubauditcursor", "githubauditimport", "githubauditrecord", "branchprotectionreview")}
EXCLUDE: dict[str, set[str]] = {
    OPERATOR: {"governance.view_apitoken", *_STATUS_WEBHOOKS},
    # Release managers work through the gate; they do not set its rules (Administrators own gate policies).
    RELEASE_MANAGER: {"governance.view_apitoken", "releases.add_gatepolicy", "releases.change_gatepolicy",
                      "supplychain.add_severitypolicy", "supplychain.change_severitypolicy", *_STATUS_WEBHOOKS,
                      *_GITHUB_READ_ONLY},
    MAINTENANCE_ADMIN: {"governance.view_apitoken", *_STATUS_WEBHOOKS},
    ADMINISTRATOR: {"governance.add_auditevent", "governance.change_auditevent", "governance.delete_auditevent",
                    "governance.add_auditexport", "governance.change_auditexport", "governance.delete_auditexport",
                    "governance.add_auditcheckpoint", "governance.change_auditcheckpoint",
                    "governance.delete_auditcheckpoint", "governance.add_auditsigningkey",
                    "governance.change_auditsigningkey", "governance.delete_auditsigningkey",
                    "governance.add_heartbeat", "governance.change_heartbeat", "governance.delete_heartbeat",
                    "governance.add_idempotencyrecord", "governance.change_idempotencyrecord",
                    # Service accounts own tokens and appear in the audit trail: deactivated, never deleted.
                    "governance.delete_serviceaccount",
                    # Backups and drills are evidence: kept forever (retention only marks a backup's files deleted).
                    "recovery.delete_backup", "recovery.delete_drill", *_GITHUB_READ_ONLY,
                    # Access reviews and recorded rotations are evidence too; policies and secrets are archived by
                    # disabling or editing, never deleted (their history is the audit of the control).
                    "access.delete_accesssnapshot", "access.delete_secretrotation", "access.delete_accesspolicy",
                    "access.delete_secret",
                    # SBOMs, findings and waivers are release evidence; advisories change only through imports.
                    "supplychain.delete_sbom", "supplychain.delete_waiver", "supplychain.delete_finding",
                    "supplychain.delete_component", "supplychain.delete_advisory",
                    "supplychain.delete_affectedpackage", "supplychain.delete_importrun",
                    # Chaos runs and faults are evidence too: a fault is removed (stamped), never deleted.
                    "chaos.delete_run", "chaos.delete_fault", "chaos.delete_runlease"},
}


def expected_codenames(role: str, permissions: list[tuple[str, str]]) -> set[str]:
    """Resolve the matrix against the permissions that exist: [(app_label, codename)] -> {"app.codename"}."""
    grants = MATRIX[role]
    wanted = set()
    for app_label, codename in permissions:
        action = codename.split("_", 1)[0]
        if app_label in grants and action in grants[app_label] and not _is_history_permission(codename):
            wanted.add(f"{app_label}.{codename}")
    existing = {f"{a}.{c}" for a, c in permissions}
    wanted |= EXTRA.get(role, set()) & existing
    return wanted - EXCLUDE.get(role, set())


def _is_history_permission(codename: str) -> bool:
    # Historical models are read through their parent's history view; nobody edits history.
    return codename.split("_", 1)[1].startswith("historical") and not codename.startswith("view_")


def sync_roles(apps: Any, schema_editor: Any = None) -> None:
    """Create the groups and set their permissions exactly (usable from a data migration)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; create them now so this migration sees them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.select_related("content_type").all())
    pairs = [(p.content_type.app_label, p.codename) for p in perms]
    by_key = {f"{p.content_type.app_label}.{p.codename}": p for p in perms}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_key[k] for k in sorted(expected_codenames(role, pairs))])
