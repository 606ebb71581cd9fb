"""Least-privilege database roles: a migrator that owns the schema, an app role that cannot rewrite history."""

from __future__ import annotations

from django.apps import apps
from django.db import connection

APPEND_ONLY_EXTRA = ["governance_auditevent", "governance_auditexport"]


def append_only_tables() -> list[str]:
    """History tables (simple-history) plus the audit timeline: SELECT and INSERT only for the app."""
    history = [m._meta.db_table for m in apps.get_models() if hasattr(m, "instance_type") and
               m.__name__.startswith("Historical")]
    return sorted(set(history + APPEND_ONLY_EXTRA))


def _ident(name: str) -> str:
    return connection.ops.quote_name(name)


def role_sql(*, migrator: str, app: str, database: str) -> list[str]:
    """The statements, in order; idempotent, so it can be re-run after every migration."""
    statements = []
    for role in (migrator, app):
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {_ident(role)} LOGIN; END IF; END $$"
        )
    statements += [
        f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(migrator)}, {_ident(app)}",
        f"ALTER SCHEMA public OWNER TO {_ident(migrator)}",
    ]
    with connection.cursor() as cursor:
        # A sequence owned by a column follows its table; a standalone one (flags_revision_seq) needs its own.
        cursor.execute(
            "SELECT c.relname, c.relkind, EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            "AND d.objid = c.oid AND d.deptype IN ('a', 'i')) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v') ORDER BY 1"
        )
        objects = cursor.fetchall()
    for name, kind, owned_by_column in objects:
        if kind in ("r", "p", "v") or (kind == "S" and not owned_by_column):
            statements.append(f"ALTER TABLE {_ident(name)} OWNER TO {_ident(migrator)}")
    statements += [
        f"GRANT USAGE ON SCHEMA public TO {_ident(app)}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {_ident(app)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_ident(app)}",
    ]
    existing = {name for name, _, _ in objects}
    for table in append_only_tables():
        if table in existing:
            statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {_ident(table)} FROM {_ident(app)}")
    statements.append(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(migrator)} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {_ident(app)}"
    )
    statements.append(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(migrator)} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {_ident(app)}"
    )
    return statements
