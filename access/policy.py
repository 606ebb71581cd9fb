"""A declared least-privilege policy for one database, and the drift of a snapshot against it. No Django.

The policy (YAML or JSON; docs/SECURITY.md § Database access review):

    role_patterns: ["shop_*"]        # roles in this namespace are governed even when they hold nothing
    owner: shop_owner                # who owns every table, sequence and non-public schema
    roles:                           # every role that may exist; attributes not named are false
      shop_owner:   {kind: maintenance}                          # (inherit defaults to true)
      shop_service: {kind: service, login: true, member_of: []}
      shop_anon:    {kind: anon, login: true}
    write: {shop_service: [public.orders], shop_owner: ["*"]}   # INSERT/UPDATE/DELETE/TRUNCATE/…
    append: {shop_service: [public.audit_log]}                 # SELECT, INSERT only (wins over write "*")
    read:  {shop_anon: [public.products], shop_service: ["*"]}  # SELECT
    rls_required: {public.orders: {force: false}}              # or a plain list of tables
    policies:                        # RLS policies as PostgreSQL prints them (pg_policies); omit to skip
      public.orders:
        tenant_isolation: {command: ALL, roles: [shop_service], using: "(tenant_id = …)", with_check: null}

Every check is "may": a declared write the database does not grant is not drift; a grant the policy does not
declare is. Drift items are plain JSON: {code, object, role, expected, actual, message}.
"""

from __future__ import annotations

import re
from typing import Any

from access.catalog import PUBLIC, ROLE_ATTRIBUTES

KINDS = ("anon", "service", "maintenance", "other")
TOP_KEYS = {"role_patterns", "owner", "roles", "write", "append", "read", "rls_required", "policies"}
ROLE_KEYS = {"kind", "member_of", *ROLE_ATTRIBUTES}
POLICY_KEYS = {"command", "roles", "using", "with_check", "permissive"}
_TABLE_RE = re.compile(r"^[^.\s]+\.[^.\s]+$|^\*$")


def problems(doc: Any) -> list[str]:
    """Why a policy document is malformed (empty: it is usable)."""
    if not isinstance(doc, dict):
        return ["The policy must be a mapping (YAML or JSON object)."]
    out = [f"Unknown key '{k}' (known: {', '.join(sorted(TOP_KEYS))})." for k in sorted(set(doc) - TOP_KEYS)]
    roles = doc.get("roles")
    if not isinstance(roles, dict) or not roles:
        return [*out, "'roles' must map each role that may exist to its attributes."]
    for name, spec in roles.items():
        if not isinstance(spec, dict):
            out.append(f"roles.{name}: give a mapping of attributes ({{}} for none).")
            continue
        out += [f"roles.{name}: unknown key '{k}'." for k in sorted(set(spec) - ROLE_KEYS)]
        out += [f"roles.{name}.{a}: true or false." for a in ROLE_ATTRIBUTES if a in spec and
                not isinstance(spec[a], bool)]
        if spec.get("kind", "other") not in KINDS:
            out.append(f"roles.{name}.kind: one of {', '.join(KINDS)}.")
        if not isinstance(spec.get("member_of", []), list):
            out.append(f"roles.{name}.member_of: a list of roles.")
        if spec.get("kind") == "anon" and ((doc.get("write") or {}).get(name) or (doc.get("append") or {}).get(name)):
            out.append(f"roles.{name}: an anon role may not write (remove it from 'write' and 'append').")
        if spec.get("kind") in ("anon", "service") and (spec.get("bypassrls") or spec.get("superuser")):
            article = "an" if spec["kind"] == "anon" else "a"
            out.append(f"roles.{name}: {article} {spec['kind']} role may not bypass row-level security.")
    for key in ("write", "append", "read"):
        grants = doc.get(key, {})
        if not isinstance(grants, dict):
            out.append(f"'{key}' maps a role to a list of tables (schema.table, or \"*\").")
            continue
        for role, tables in grants.items():
            if role not in roles and role != PUBLIC:
                out.append(f"{key}.{role}: not a declared role.")
            if not isinstance(tables, list) or not all(isinstance(t, str) and _TABLE_RE.match(t) for t in tables):
                out.append(f"{key}.{role}: a list of schema.table names or \"*\".")
    rls = doc.get("rls_required", [])
    if not isinstance(rls, (list, dict)):
        out.append("'rls_required': a list of tables or a mapping table -> {force: bool}.")
    policies = doc.get("policies", {})
    if not isinstance(policies, dict):
        out.append("'policies': a mapping table -> policy name -> {command, roles, using, with_check}.")
    else:
        for table, per_table in policies.items():
            if not isinstance(per_table, dict):
                out.append(f"policies.{table}: a mapping policy name -> definition.")
                continue
            for name, spec in per_table.items():
                if not isinstance(spec, dict) or set(spec) - POLICY_KEYS:
                    out.append(f"policies.{table}.{name}: keys {', '.join(sorted(POLICY_KEYS))}.")
    return out


def _norm_sql(text: str | None) -> str | None:
    return None if text is None else " ".join(str(text).split())


def _allowed(grants: dict[str, list[str]], role: str, table: str) -> bool:
    listed = grants.get(role) or []
    return "*" in listed or table in listed


def _rls_required(doc: dict[str, Any]) -> dict[str, bool]:
    rls = doc.get("rls_required") or []
    if isinstance(rls, list):
        return {t: False for t in rls}
    return {t: bool((spec or {}).get("force", False)) for t, spec in rls.items()}


def _item(code: str, obj: str, message: str, *, role: str = "", expected: Any = None,
          actual: Any = None) -> dict[str, Any]:
    return {"code": code, "object": obj, "role": role, "expected": expected, "actual": actual, "message": message}


def drift(doc: dict[str, Any], snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """What the database allows beyond the policy (and what the policy requires that it lacks), sorted."""
    out: list[dict[str, Any]] = []
    declared: dict[str, dict[str, Any]] = doc.get("roles") or {}
    write: dict[str, list[str]] = doc.get("write") or {}
    read: dict[str, list[str]] = doc.get("read") or {}
    append: dict[str, list[str]] = doc.get("append") or {}
    owner = doc.get("owner")

    def table_allowed(grantee: str, table: str, privileges: list[str]) -> set[str]:
        if table in (append.get(grantee) or []):  # named explicitly: narrower than a write "*"
            return {"SELECT", "INSERT"}
        if _allowed(write, grantee, table):
            return set(privileges)
        return {"SELECT"} if _allowed(read, grantee, table) else set()

    for name, actual in snapshot["roles"].items():
        spec = declared.get(name)
        if spec is None:
            attrs = ", ".join(a for a in ROLE_ATTRIBUTES if actual[a] and a != "inherit") or "no attributes"
            out.append(_item("role-undeclared", name, f"Role {name} exists ({attrs}) but the policy does not declare it.",
                             role=name, actual={a: actual[a] for a in ROLE_ATTRIBUTES}))
            continue
        for attr in ROLE_ATTRIBUTES:
            want = bool(spec.get(attr, attr == "inherit"))
            if actual[attr] != want:
                out.append(_item("role-attribute", f"{name}.{attr}", f"Role {name}: {attr} is {actual[attr]}, "
                                 f"the policy says {want}.", role=name, expected=want, actual=actual[attr]))
        want_members = sorted(spec.get("member_of") or [])
        if actual["member_of"] != want_members:
            extra = sorted(set(actual["member_of"]) - set(want_members))
            out.append(_item("membership", name, f"Role {name} is a member of {actual['member_of'] or 'nothing'}; "
                             f"the policy allows {want_members or 'nothing'}"
                             + (f" (extra: {', '.join(extra)})." if extra else "."),
                             role=name, expected=want_members, actual=actual["member_of"]))
    for name in sorted(set(declared) - set(snapshot["roles"])):
        out.append(_item("role-missing", name, f"Role {name} is declared but does not exist.", role=name))

    for table, info in snapshot["tables"].items():
        if owner and info["owner"] != owner:
            out.append(_item("owner", table, f"{table} is owned by {info['owner']}, the policy says {owner}.",
                             role=info["owner"], expected=owner, actual=info["owner"]))
        for grantee, privileges in info["grants"].items():
            allowed = table_allowed(grantee, table, privileges)
            extra = sorted(set(privileges) - allowed)
            if not extra:
                continue
            code = "read-grant" if extra == ["SELECT"] else "write-grant"
            out.append(_item(code, table, f"{grantee} has {', '.join(extra)} on {table}, which the policy does not "
                             "allow.", role=grantee, expected=sorted(allowed), actual=privileges))
        for grantee, columns in info.get("column_grants", {}).items():
            allowed = table_allowed(grantee, table, sorted({p for privs in columns.values() for p in privs}))
            for column, privileges in columns.items():
                extra = sorted(set(privileges) - allowed)
                if extra:
                    code = "read-grant" if extra == ["SELECT"] else "write-grant"
                    out.append(_item(code, f"{table}.{column}", f"{grantee} has {', '.join(extra)} on column "
                                     f"{table}.{column}, which the policy does not allow.", role=grantee,
                                     expected=sorted(allowed), actual=privileges))
    database_acl = snapshot.get("database_acl") or {"owner": None, "grants": {}}
    for grantee, privileges in database_acl["grants"].items():
        if "CREATE" in privileges and grantee != owner:
            out.append(_item("database-create", snapshot["database"], f"{grantee} may CREATE schemas in database "
                             f"{snapshot['database']} (only the owner should change the schema).", role=grantee,
                             expected=["CONNECT", "TEMPORARY"], actual=privileges))
    writers = {r for r, tables in [*write.items(), *append.items()] if tables}
    readers = writers | {r for r, tables in read.items() if tables}
    for seq, info in snapshot["sequences"].items():
        if owner and info["owner"] != owner:
            out.append(_item("owner", seq, f"{seq} is owned by {info['owner']}, the policy says {owner}.",
                             role=info["owner"], expected=owner, actual=info["owner"]))
        for grantee, privileges in info["grants"].items():
            allowed = {"USAGE", "SELECT", "UPDATE"} if grantee in writers else (
                {"SELECT"} if grantee in readers else set())
            extra = sorted(set(privileges) - allowed)
            if extra:
                out.append(_item("sequence-grant", seq, f"{grantee} has {', '.join(extra)} on sequence {seq}; it "
                                 "writes no table under the policy.", role=grantee, expected=sorted(allowed),
                                 actual=privileges))
    for schema, info in snapshot["schemas"].items():
        if owner and schema != "public" and info["owner"] != owner:
            out.append(_item("owner", schema, f"Schema {schema} is owned by {info['owner']}, the policy says {owner}.",
                             role=info["owner"], expected=owner, actual=info["owner"]))
        for grantee, privileges in info["grants"].items():
            if "CREATE" in privileges and grantee != owner:
                out.append(_item("schema-create", schema, f"{grantee} may CREATE in schema {schema} (only the "
                                 "owner should change the schema).", role=grantee, expected=["USAGE"],
                                 actual=privileges))
    for key, grants in snapshot["default_privileges"].items():
        creator, _schema, kind = key.split("/")
        if kind != "tables":
            continue
        for grantee, privileges in grants.items():
            allowed = set(privileges) if "*" in (write.get(grantee) or []) else (
                {"SELECT"} if "*" in (read.get(grantee) or []) else set())
            extra = sorted(set(privileges) - allowed)
            if extra:
                out.append(_item("default-privilege", key, f"Tables {creator} creates in future get {', '.join(extra)} "
                                 f"for {grantee}, beyond the policy.", role=grantee, expected=sorted(allowed),
                                 actual=privileges))

    for table, force in sorted(_rls_required(doc).items()):
        info = snapshot["tables"].get(table)
        if info is None:
            out.append(_item("table-missing", table, f"{table} must have row-level security but does not exist."))
            continue
        if not info["rls"]:
            out.append(_item("rls-disabled", table, f"Row-level security is off on {table}; the policy requires it.",
                             expected=True, actual=False))
        if force and not info["force_rls"]:
            out.append(_item("rls-not-forced", table, f"Row-level security is not forced on {table} (its owner "
                             "bypasses it); the policy requires FORCE.", expected=True, actual=False))

    if "policies" in doc:
        out += _policy_drift(doc.get("policies") or {}, snapshot["policies"])
    return sorted(out, key=lambda i: (i["object"], i["code"], i["role"]))


def _policy_drift(declared: dict[str, Any], actual: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for table in sorted(set(declared) | set(actual)):
        want, have = declared.get(table) or {}, actual.get(table) or {}
        for name in sorted(set(want) | set(have)):
            obj = f"{table}/{name}"
            if name not in have:
                out.append(_item("policy-missing", obj, f"Policy {name} on {table} is declared but does not exist.",
                                 expected=want[name]))
                continue
            if name not in want:
                out.append(_item("policy-undeclared", obj, f"Policy {name} on {table} exists but is not declared.",
                                 actual=have[name]))
                continue
            spec = {"command": "ALL", "permissive": True, "roles": ["public"], "using": None, "with_check": None,
                    **want[name]}
            expected = {"command": str(spec["command"]).upper(), "permissive": bool(spec["permissive"]),
                        "roles": sorted(spec["roles"]), "using": _norm_sql(spec["using"]),
                        "with_check": _norm_sql(spec["with_check"])}
            got = {**have[name], "using": _norm_sql(have[name]["using"]),
                   "with_check": _norm_sql(have[name]["with_check"])}
            fields = sorted(k for k in expected if expected[k] != got[k])
            if fields:
                out.append(_item("policy-changed", obj, f"Policy {name} on {table} differs in "
                                 f"{', '.join(fields)}: " + "; ".join(f"{k} {got[k]!r}, declared {expected[k]!r}"
                                                                      for k in fields) + ".",
                                 expected={k: expected[k] for k in fields}, actual={k: got[k] for k in fields}))
    return out


def draft_from_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A policy that accepts the snapshot as it is: a starting point for a person to narrow, never adopted blindly."""
    roles = {name: {**{a: v for a, v in attrs.items() if a in ROLE_ATTRIBUTES and v != (a == "inherit")},
                    **({"member_of": attrs["member_of"]} if attrs["member_of"] else {})}
             for name, attrs in snapshot["roles"].items()}
    write: dict[str, list[str]] = {}
    append: dict[str, list[str]] = {}
    read: dict[str, list[str]] = {}
    for table, info in snapshot["tables"].items():
        for grantee, privileges in info["grants"].items():
            kind = read if set(privileges) == {"SELECT"} else (
                append if set(privileges) <= {"SELECT", "INSERT"} else write)
            kind.setdefault(grantee, []).append(table)
    owners = [info["owner"] for info in snapshot["tables"].values()]
    draft: dict[str, Any] = {"roles": roles}
    if owners:
        draft["owner"] = max(sorted(set(owners)), key=owners.count)
    draft.update({"write": write, "append": append, "read": read,
                  "rls_required": sorted(t for t, info in snapshot["tables"].items() if info["rls"]),
                  "policies": {t: dict(per) for t, per in snapshot["policies"].items()}})
    return draft
