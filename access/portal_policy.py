"""The access policy of the portal's own database: the split `governance.db_roles` creates, as a policy document."""

from __future__ import annotations

from typing import Any

from django.db import connection

from governance.db_roles import append_only_tables


def portal_policy(*, migrator: str = "governance_migrator", app: str = "governance_app") -> dict[str, Any]:
    """The migrator owns everything; the app writes every table except history and the trail (SELECT, INSERT)."""
    existing = set(connection.introspection.table_names())
    return {
        "role_patterns": ["governance_*"],
        "owner": migrator,
        "roles": {migrator: {"kind": "maintenance", "login": True}, app: {"kind": "service", "login": True}},
        "write": {app: ["*"]},
        "append": {app: [f"public.{t}" for t in append_only_tables() if t in existing]},
        "rls_required": [],
    }
