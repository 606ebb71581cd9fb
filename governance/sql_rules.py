"""The one home of the rules for SQL that people type into the portal (no Django: recovery's engine uses it too).

Typed SQL is a schema plan's verification query, a backfill's batch statement and a backup target's smoke
queries. Each is parsed with pglast (PostgreSQL's own parser) and refused unless it is exactly one statement of
the allowed kind:

- verification and smoke: one read-only SELECT: no data-modifying CTE, no SELECT INTO, no FOR UPDATE/SHARE,
  no parameters, no call to a function that writes or escapes the transaction (`DENIED_FUNCTIONS`).
- backfill: one UPDATE of the named table only (no other relation anywhere), bounded by
  `<key> >= %(lo)s AND <key> < %(hi)s`, no WITH, no RETURNING, no denied function (FROM a subquery
  without tables is fine).

The parser is the first line only: `run_one` executes through the extended protocol (a prepared statement, so the
server itself refuses a second statement), and the callers run it in a transaction that the statement cannot end,
as a role that can only read (or only update the named table): see docs/SECURITY.md § Typed SQL.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import sql

VERIFICATION = "verification"
BACKFILL = "backfill"
SMOKE = "smoke"

# Functions that write, signal other sessions, reach files or other servers, change settings (set_config can
# switch the role or end read-only mode for later transactions), or run a query given as text (which would
# escape this parse). Matched on the function's own name, whatever its schema. Plain reads (count, coalesce,
# now, current_setting, user-defined functions …) stay allowed: the read-only transaction and the role are what
# stop a user-defined function from writing.
DENIED_FUNCTIONS = frozenset({
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_start_backup", "pg_stop_backup", "pg_notify",
    "pg_logical_emit_message", "pg_export_snapshot", "pg_stat_file", "nextval", "setval", "loread", "lowrite",
    "ts_stat", "ts_rewrite",
})
DENIED_PREFIXES = (
    "lo_", "dblink", "pg_read_", "pg_ls_", "pg_file_", "pg_stat_reset", "pg_advisory", "pg_try_advisory",
    "pg_replication_origin", "pg_create_", "pg_drop_", "pg_copy_", "pg_wal_replay_", "pg_backup_",
    "query_to_xml", "cursor_to_xml", "txid_", "pg_current_xact", "pg_import_", "pg_log_",
)
PLACEHOLDER = re.compile(r"%(%|\((lo|hi)\)s|.?)")
MAX_LENGTH = 20_000


class SqlRefused(ValueError):
    """Typed SQL that the rules refuse; the message says why, for the person who typed it."""


def _parse(text: str) -> ast.RawStmt:
    if not isinstance(text, str) or not text.strip():
        raise SqlRefused("Write one SQL statement.")
    if len(text) > MAX_LENGTH:
        raise SqlRefused(f"The statement is longer than {MAX_LENGTH} characters.")
    if "\x00" in text:
        raise SqlRefused("The statement contains a NUL character.")
    try:
        statements = parse_sql(text)
    except ParseError as exc:
        raise SqlRefused(f"Not valid PostgreSQL: {exc}.") from None
    if len(statements) != 1:
        raise SqlRefused(f"Exactly one statement is allowed; found {len(statements)} (no `;`-separated "
                         "statements, no COMMIT/ROLLBACK, no SET).")
    return statements[0]


def _nodes(node: Any) -> Iterator[ast.Node]:
    """Every AST node under `node` (itself included), depth first."""
    if isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from _nodes(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _nodes(item)


def _kind(node: Any) -> str:
    cls = node if isinstance(node, type) else node.__class__
    return cls.__name__.removesuffix("Stmt").upper()


def _function_name(call: Any) -> str:  # pglast's node fields are typed Optional: walked as Any
    return ".".join(str(part.sval) for part in call.funcname or () if isinstance(part, ast.String))


def _denied(call: Any) -> bool:
    name = _function_name(call).rsplit(".", 1)[-1].lower()
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


def _common_refusals(root: Any, *, allowed_statement: type[ast.Node]) -> None:
    for node in _nodes(root):
        if isinstance(node, ast.IntoClause):
            raise SqlRefused("SELECT … INTO creates a table: only a plain SELECT is allowed.")
        if isinstance(node, ast.LockingClause):
            raise SqlRefused("Locking clauses (FOR UPDATE / FOR SHARE …) are not allowed: the query only reads.")
        if isinstance(node, ast.FuncCall) and _denied(node):
            raise SqlRefused(f"The function {_function_name(node)}() is not allowed in typed SQL (it writes, "
                             "signals, reaches outside the database or runs SQL given as text).")
        if node is not root and isinstance(node, ast.Node) and node.__class__.__name__.endswith("Stmt") \
                and not isinstance(node, ast.SelectStmt):
            raise SqlRefused(f"A nested {_kind(node)} is not allowed (data-modifying CTEs and subquery writes "
                             "are refused).")
    if not isinstance(root, allowed_statement):
        raise SqlRefused(f"Only {_kind(allowed_statement)} is allowed here, not {_kind(root)}.")


def _not_too_deep(check: Any) -> Any:
    """A statement nested deeper than Python's recursion allows (pglast and the walk recurse) is refused, not a crash."""
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except RecursionError:
            raise SqlRefused("The statement is nested too deeply.") from None

    checked.__doc__, checked.__name__ = check.__doc__, check.__name__
    return checked


@_not_too_deep
def check_select(text: str) -> Any:
    """One read-only SELECT (verification queries, smoke queries), or SqlRefused; the parsed statement."""
    root: Any = _parse(text).stmt
    _common_refusals(root, allowed_statement=ast.SelectStmt)
    for node in _nodes(root):
        if isinstance(node, ast.ParamRef):
            raise SqlRefused("Parameters ($1 …) are not allowed in a read-only query.")
    assert isinstance(root, ast.SelectStmt)
    return root


def backfill_sql_to_postgres(text: str) -> str:
    """The statement as the server sees it: %(lo)s → $1, %(hi)s → $2, %% → %; any other placeholder refused."""
    def swap(match: re.Match[str]) -> str:
        if match.group(1) == "%":
            return "%"
        if match.group(2):
            return "$1" if match.group(2) == "lo" else "$2"
        raise SqlRefused(f"Only the placeholders %(lo)s and %(hi)s are allowed (write a literal % as %%); "
                         f"found {match.group(0)!r}.")

    return PLACEHOLDER.sub(swap, text)


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ast.BoolExpr) and getattr(node.boolop, "name", "") == "AND_EXPR":
        return [c for arg in node.args or () for c in _conjuncts(arg)]
    return [node]


def _bound(node: Any, *, op: str, key: str, param: int) -> bool:
    fields: Any = node.lexpr.fields if isinstance(node, ast.A_Expr) and isinstance(node.lexpr, ast.ColumnRef) else ()
    return (isinstance(node, ast.A_Expr) and getattr(node.kind, "name", "") == "AEXPR_OP"
            and [s.sval for s in node.name or ()] == [op]
            and bool(fields) and isinstance(fields[-1], ast.String) and fields[-1].sval == key
            and isinstance(node.rexpr, ast.ParamRef) and node.rexpr.number == param)


def _relation_name(rel: Any) -> str:
    return f"{rel.schemaname}.{rel.relname}" if rel.schemaname else str(rel.relname)


@_not_too_deep
def check_backfill(text: str, *, table: str, key_column: str) -> Any:
    """One UPDATE of `table` bounded by the engine's key range, or SqlRefused; the parsed statement."""
    root: Any = _parse(backfill_sql_to_postgres(text)).stmt
    _common_refusals(root, allowed_statement=ast.UpdateStmt)
    assert isinstance(root, ast.UpdateStmt)
    if root.withClause:
        raise SqlRefused("WITH is not allowed in a backfill statement.")
    if getattr(root, "returningClause", None) or getattr(root, "returningList", None):
        raise SqlRefused("RETURNING is not allowed in a backfill statement (the engine counts rows itself).")
    target = _relation_name(root.relation)
    if target.lower() != table.lower():
        raise SqlRefused(f"The statement updates {target}, but this backfill's table is {table}.")
    for node in _nodes(root):
        if isinstance(node, ast.RangeVar) and _relation_name(node).lower() != table.lower():
            raise SqlRefused(f"The statement reads {_relation_name(node)}: a backfill reads and writes {table} only.")
    conjuncts = _conjuncts(root.whereClause)
    if not (any(_bound(c, op=">=", key=key_column, param=1) for c in conjuncts)
            and any(_bound(c, op="<", key=key_column, param=2) for c in conjuncts)):
        raise SqlRefused(f"Bound the batch with WHERE {key_column} >= %(lo)s AND {key_column} < %(hi)s (the "
                         "engine's key range), joined to any other condition with AND.")
    params = {n.number for n in _nodes(root) if isinstance(n, ast.ParamRef)}
    if params - {1, 2}:
        raise SqlRefused("Only the placeholders %(lo)s and %(hi)s are allowed.")
    return root


@_not_too_deep
def tables(root: Any) -> list[str]:
    """The relations a parsed statement names (CTE names excluded), as written."""
    ctes = {cte.ctename for cte in _nodes(root) if isinstance(cte, ast.CommonTableExpr)}
    return sorted({_relation_name(n) for n in _nodes(root)
                   if isinstance(n, ast.RangeVar) and not (n.schemaname is None and n.relname in ctes)})


def check(kind: str, text: str, *, table: str = "", key_column: str = "id") -> list[str]:
    """Refuse `text` unless it is allowed for `kind` (VERIFICATION, SMOKE or BACKFILL); the tables it names."""
    if kind == BACKFILL:
        return tables(check_backfill(text, table=table, key_column=key_column))
    if kind in (VERIFICATION, SMOKE):
        return tables(check_select(text))
    raise ValueError(f"unknown kind of typed SQL: {kind!r}")


def run_one(conn: psycopg.Connection, text: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
    """Execute one statement through the extended protocol (prepared): the server refuses a second statement."""
    return conn.execute(text, params, prepare=True)


class RoleUnavailable(RuntimeError):
    """The connection's user cannot create the throwaway role that typed SQL must run as."""


class SuperuserLogin(RoleUnavailable):
    """The connection logs in as a superuser: typed SQL does not run there (see refuse_superuser_login)."""


# Tests and a local cluster log in as the `postgres` superuser; only there may this be "1".
ALLOW_SUPERUSER_ENV = "TYPED_SQL_ALLOW_SUPERUSER"


def refuse_superuser_login(conn: psycopg.Connection) -> None:
    """Refuse to run typed SQL on a connection whose *login* (session) user is a superuser.

    PostgreSQL lets a session SET ROLE back to any role its login user belongs to, and RESET ROLE / SET ROLE NONE
    to the login user itself; that cannot be revoked. Only the parser refuses SET ROLE and set_config('role', …)
    in typed SQL, so if it were fooled the statement would get the login user's rights: they must not be a
    superuser's (COPY … PROGRAM, pg_read_file, any table). The throwaway role still narrows what a statement
    can do while the parser holds.
    """
    row = conn.execute("SELECT session_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user"
                       ).fetchone()
    if row is not None and row[1] and os.environ.get(ALLOW_SUPERUSER_ENV) != "1":
        raise SuperuserLogin(
            f"typed SQL does not run as a superuser login ('{row[0]}'): a statement could switch back to it "
            "with SET ROLE; give this DSN a login role without SUPERUSER (CREATEROLE is enough, see "
            "docs/SECURITY.md § Typed SQL)")


def _become_role(conn: psycopg.Connection, *, select: Sequence[str] = (), update: Sequence[str] = (),
                 read_all: bool = False) -> sql.Identifier:
    """In the open transaction: create a throwaway role with only the listed privileges and SET LOCAL ROLE to it.

    CREATE ROLE is transactional: a rolled-back transaction takes the role with it, so it never outlives the
    transaction. Raises RoleUnavailable when the connection's user lacks CREATEROLE or the right to grant.
    """
    role = sql.Identifier(f"gov_typed_sql_{secrets.token_hex(6)}")
    setup = [sql.SQL("CREATE ROLE {} NOLOGIN").format(role),
             sql.SQL("GRANT {} TO CURRENT_USER").format(role)]  # PostgreSQL 16+: CREATEROLE alone cannot SET ROLE
    for table, privileges in [*((t, "SELECT") for t in select), *((t, "SELECT, UPDATE") for t in update)]:
        parts = table.split(".")
        if len(parts) == 2:
            setup.append(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(parts[0]), role))
        setup.append(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privileges), sql.Identifier(*parts), role))
    if read_all:
        setup.append(sql.SQL("GRANT pg_read_all_data TO {}").format(role))
    try:
        with conn.transaction():  # a savepoint: a refused grant leaves the caller's transaction usable
            for statement in setup:
                conn.execute(statement)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedObject) as exc:
        raise RoleUnavailable(f"cannot create the restricted role typed SQL runs as: {str(exc).strip()} "
                              "(the connection's user needs CREATEROLE and the right to grant these "
                              "privileges; see docs/SECURITY.md § Typed SQL)") from None
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(role))
    return role


@contextmanager
def read_only(conn: psycopg.Connection, *, select: Sequence[str] = (), read_all: bool = False,
              require_role: bool = False) -> Iterator[bool]:
    """A transaction that is always rolled back, READ ONLY, as a throwaway role that may only read.

    The role may SELECT `select` (or everything, with `read_all`: pg_read_all_data). Without the right to create
    it, `require_role` refuses (RoleUnavailable); otherwise the read-only transaction alone guards (yields False).
    The typed statement cannot end this transaction: it is one prepared statement (`run_one`), and the rules
    refuse COMMIT, SET ROLE and set_config.
    """
    with conn.transaction(force_rollback=True):
        refuse_superuser_login(conn)  # before the fallback below: never swallowed
        try:
            _become_role(conn, select=select, read_all=read_all)
            as_role = True
        except RoleUnavailable:
            if require_role:
                raise
            as_role = False
        conn.execute("SET TRANSACTION READ ONLY")  # read-write → read-only is allowed mid-transaction
        yield as_role


@contextmanager
def updating_only(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """In the caller's open transaction: run as a throwaway role that may read and update `table` only.

    Dropped again before the caller commits; on an error the caller's rollback removes it.
    """
    refuse_superuser_login(conn)
    role = _become_role(conn, update=[table])
    yield
    conn.execute("RESET ROLE")
    conn.execute(sql.SQL("DROP OWNED BY {}").format(role))  # revokes its grants
    conn.execute(sql.SQL("DROP ROLE {}").format(role))
