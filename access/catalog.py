"""Read a database's access state from pg_catalog: roles, memberships, grants, default privileges, RLS, policies.

No Django: it takes a psycopg connection, so a review of a governed database never goes through the portal's
own connection. The result is plain JSON (sorted lists, no timestamps), so two snapshots compare with `==` and
their difference is `diff`. Roles are cluster-wide: a snapshot keeps the roles that matter to THIS database
(owners, grantees, policy roles, default-privilege roles) plus those the policy declares or its `role_patterns`
match,
and leaves PostgreSQL's built-in `pg_*` roles out.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import psycopg

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
ROLE_ATTRIBUTES = ("superuser", "createrole", "createdb", "login", "replication", "bypassrls", "inherit")
WRITE_PRIVILEGES = frozenset({"INSERT", "UPDATE", "DELETE", "TRUNCATE"})
PUBLIC = "PUBLIC"
_DEFACL_KINDS = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}

_ACL_SQL = """
SELECT {name}, {owner}::regrole::text,
       COALESCE(json_agg(json_build_array(
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type))
           FILTER (WHERE a.privilege_type IS NOT NULL), '[]'){extra}
FROM {source}
LEFT JOIN LATERAL aclexplode({acl}) a ON true
{where}
GROUP BY {group}
"""


def _grants(pairs: list[list[str]], owner: str | None = None) -> dict[str, list[str]]:
    # An owner's implicit privileges show in the ACL once anything is granted; they are ownership, not a grant.
    out: dict[str, set[str]] = {}
    for grantee, privilege in pairs:
        if grantee != owner:
            out.setdefault(_unquote(grantee), set()).add(privilege)
    return {g: sorted(p) for g, p in sorted(out.items())}


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') and name.endswith('"') else name


def take_snapshot(conn: psycopg.Connection[Any], *, role_patterns: list[str] | tuple[str, ...] = (),
                  roles: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The access state of the database `conn` is connected to (reads only); `roles` (the declared ones) and
    roles matching `role_patterns` are kept even when they hold nothing here."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_setting('server_version_num')::int")
        database, version = cur.fetchone()  # type: ignore[misc]  # one row, always
        not_system = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' " \
                     "AND n.nspname NOT LIKE 'pg_temp%'"

        cur.execute(_ACL_SQL.format(
            name="n.nspname", owner="n.nspowner", acl="n.nspacl", extra="", source="pg_namespace n",
            where=f"WHERE {not_system}", group="n.nspname, n.nspowner"))
        schemas = {name: {"owner": _unquote(owner), "grants": _grants(pairs, owner)} for name, owner, pairs in cur}

        cur.execute(_ACL_SQL.format(
            name="n.nspname || '.' || c.relname", owner="c.relowner", acl="c.relacl",
            extra=", c.relkind, c.relrowsecurity, c.relforcerowsecurity",
            source="pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
            where=f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {not_system}",
            group="n.nspname, c.relname, c.relowner, c.relkind, c.relrowsecurity, c.relforcerowsecurity"))
        tables: dict[str, Any] = {}
        sequences: dict[str, Any] = {}
        for name, owner, pairs, kind, rls, force in cur:
            if kind == "S":
                sequences[name] = {"owner": _unquote(owner), "grants": _grants(pairs, owner)}
            else:
                tables[name] = {"owner": _unquote(owner), "grants": _grants(pairs, owner), "rls": rls,
                                "force_rls": force, "kind": {"r": "table", "p": "table", "v": "view",
                                                             "m": "materialized view", "f": "foreign table"}[kind]}

        # Column privileges (GRANT UPDATE (col) …) write as surely as table privileges.
        cur.execute("""
            SELECT n.nspname || '.' || c.relname, a.attname,
                   CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END, x.privilege_type
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL aclexplode(a.attacl) x
            WHERE a.attacl IS NOT NULL AND NOT a.attisdropped AND a.attnum > 0
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')""")
        for table, column, grantee, privilege in cur:
            if table in tables:
                per_grantee = tables[table].setdefault("column_grants", {}).setdefault(_unquote(grantee), {})
                per_grantee.setdefault(column, []).append(privilege)
        for info in tables.values():
            for per_grantee in info.get("column_grants", {}).values():
                for column in per_grantee:
                    per_grantee[column] = sorted(set(per_grantee[column]))

        cur.execute(_ACL_SQL.format(
            name="d.datname", owner="d.datdba", acl="d.datacl", extra="", source="pg_database d",
            where="WHERE d.datname = current_database()", group="d.datname, d.datdba"))
        _name, db_owner, db_pairs = cur.fetchone()  # type: ignore[misc]  # the current database: one row
        database_acl = {"owner": _unquote(db_owner), "grants": _grants(db_pairs, db_owner)}

        cur.execute("""
            SELECT d.defaclrole::regrole::text, COALESCE(n.nspname, ''), d.defaclobjtype,
                   json_agg(json_build_array(
                       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type))
            FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
            CROSS JOIN LATERAL aclexplode(d.defaclacl) a
            GROUP BY 1, 2, 3""")
        default_privileges: dict[str, Any] = {}
        for role, schema, kind, pairs in cur:
            key = f"{_unquote(role)}/{schema or '*'}/{_DEFACL_KINDS.get(kind, kind)}"
            default_privileges[key] = _grants(pairs, role)

        cur.execute("""
            SELECT schemaname || '.' || tablename, policyname, permissive, roles::text[], cmd, qual, with_check
            FROM pg_policies WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""")
        policies: dict[str, Any] = {}
        for table, name, permissive, applies_to, cmd, qual, with_check in cur:
            policies.setdefault(table, {})[name] = {
                "permissive": permissive == "PERMISSIVE", "roles": sorted(applies_to), "command": cmd,
                "using": qual, "with_check": with_check}

        mentioned = ({s["owner"] for s in schemas.values()} | {t["owner"] for t in tables.values()}
                     | {q["owner"] for q in sequences.values()} | set(roles))
        for group in (schemas, tables, sequences):
            for item in group.values():
                mentioned |= set(item["grants"])
        for key, grants in default_privileges.items():
            mentioned |= {key.split("/", 1)[0], *grants}
        for table in tables.values():
            mentioned |= set(table.get("column_grants", {}))
        mentioned |= set(database_acl["grants"])
        for per_table in policies.values():
            for policy in per_table.values():
                mentioned |= set(policy["roles"])
        mentioned.discard(PUBLIC)
        mentioned.discard("public")  # pg_policies spells PUBLIC in lower case

        cur.execute("""
            SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
                   r.rolbypassrls, r.rolinherit,
                   COALESCE(array_agg(g.rolname ORDER BY g.rolname) FILTER (WHERE g.rolname IS NOT NULL), '{}')
            FROM pg_roles r
            LEFT JOIN pg_auth_members m ON m.member = r.oid
            LEFT JOIN pg_roles g ON g.oid = m.roleid
            WHERE r.rolname NOT LIKE 'pg\\_%'
            GROUP BY r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
                     r.rolbypassrls, r.rolinherit""")
        all_roles = {row[0]: {**dict(zip(ROLE_ATTRIBUTES, row[1:8], strict=True)), "member_of": list(row[8])}
                     for row in cur}

    wanted = {r for r in all_roles if r in mentioned or any(fnmatch.fnmatchcase(r, p) for p in role_patterns)}
    # A role that can reach a governed role (member of it) matters too: it holds its privileges.
    changed = True
    while changed:
        extra = {r for r, attrs in all_roles.items() if r not in wanted and set(attrs["member_of"]) & wanted}
        wanted |= extra
        changed = bool(extra)
    return {
        "database": database,
        "server_version_num": version,
        "database_acl": database_acl,
        "roles": {r: all_roles[r] for r in sorted(wanted)},
        "schemas": dict(sorted(schemas.items())),
        "tables": dict(sorted(tables.items())),
        "sequences": dict(sorted(sequences.items())),
        "default_privileges": dict(sorted(default_privileges.items())),
        "policies": {t: dict(sorted(p.items())) for t, p in sorted(policies.items())},
    }


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Leaf-level differences between two JSON values: [{path, before, after}] (None = absent), in path order."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append({"path": sub, "before": None, "after": after[key]})
            elif key not in after:
                out.append({"path": sub, "before": before[key], "after": None})
            else:
                out.extend(diff(before[key], after[key], sub))
        return out
    return [] if before == after else [{"path": path, "before": before, "after": after}]
