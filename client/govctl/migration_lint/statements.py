"""Rules for statements other than tables, columns, constraints and indexes: drops, views, policies,
materialized views, triggers, locks, maintenance. Called by the engine through `ddl.HANDLERS`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import DropBehavior, ObjectType

from govctl.migration_lint.catalogue import Phase
from govctl.migration_lint.columns import present
from govctl.migration_lint.locks import (
    ACCESS_EXCLUSIVE,
    CONCURRENT_MISPLACED,
    CREATES,
    SHARE_ROW_EXCLUSIVE,
    option_on,
    relation_name,
)

if TYPE_CHECKING:
    from govctl.migration_lint.engine import Linter


_DROP_LOCKS_OBJECT = (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW)
# DROP TRIGGER / DROP POLICY name the table before the object: `DROP TRIGGER trg ON schema.table`.
_DROP_LOCKS_TABLE = (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_POLICY, ObjectType.OBJECT_RULE)


def _dotted(parts: Any) -> str:
    return ".".join(str(part.sval) for part in parts)


def drop(lint: Linter, node: ast.DropStmt) -> None:
    kind = present(node.removeType)
    objects = [tuple(parts) for parts in node.objects or () if isinstance(parts, tuple | list) and parts]
    names = [_dotted(parts) for parts in objects]
    lint.rerunnable(bool(node.missing_ok), f"DROP {kind.name[7:]} without IF EXISTS")
    if kind is ObjectType.OBJECT_INDEX:
        drop_index(lint, names, bool(node.concurrent))
        return
    if kind in _DROP_LOCKS_TABLE:
        for parts in objects:
            table = _dotted(parts[:-1])
            lint.op(Phase.CONTRACT, f"DROP {kind.name[7:]} {parts[-1].sval} ON {table}")
            lint.lock(table, ACCESS_EXCLUSIVE)
        return
    for name in names:
        if kind in _DROP_LOCKS_OBJECT and lint.is_new(name):
            continue
        lint.op(Phase.CONTRACT, f"DROP {kind.name[7:]} {name}")
        if kind in _DROP_LOCKS_OBJECT:
            lint.lock(name, ACCESS_EXCLUSIVE)
        if kind is ObjectType.OBJECT_TABLE and not lint.in_contract():
            lint.flag("drop-table-outside-contract", name)
    if node.behavior is DropBehavior.DROP_CASCADE and kind not in _DROP_LOCKS_OBJECT:
        # CASCADE drops what depends on the object: columns, views, constraints on tables in use.
        lint.lock(f"the tables that depend on {', '.join(names) or kind.name[7:]} (CASCADE)", ACCESS_EXCLUSIVE)


def drop_index(lint: Linter, names: list[str], concurrent: bool) -> None:
    if concurrent and lint.in_tx:
        lint.flag("concurrent-index-in-transaction", f"DROP INDEX {CONCURRENT_MISPLACED}")
    for name in names:
        if name in lint.new_indexes:
            continue
        lint.op(Phase.CONTRACT, f"DROP INDEX {name}")
        if not concurrent:
            lint.flag("drop-index-non-concurrently", name)
            lint.lock(f"the table of index {name}", ACCESS_EXCLUSIVE)


def drop_database(lint: Linter, node: ast.DropdbStmt) -> None:
    lint.op(Phase.CONTRACT, f"DROP DATABASE {node.dbname}")
    lint.flag("drop-database", str(node.dbname))


def truncate(lint: Linter, node: ast.TruncateStmt) -> None:
    tables = [relation_name(rel) for rel in node.relations or ()]
    if node.behavior is DropBehavior.DROP_CASCADE:
        lint.flag("truncate-cascade", ", ".join(tables))
    for table in tables:
        lint.lock(table, ACCESS_EXCLUSIVE)


# -- other statements that lock or change the schema


def lock_table(lint: Linter, node: ast.LockStmt) -> None:
    for rel in node.relations or ():
        lint.lock(relation_name(rel), present(node.mode))


def create_trigger(lint: Linter, node: ast.CreateTrigStmt) -> None:
    lint.op(Phase.EXPAND, f"CREATE TRIGGER {node.trigname}")
    lint.lock(relation_name(present(node.relation)), SHARE_ROW_EXCLUSIVE)


def alter_enum(lint: Linter, node: ast.AlterEnumStmt) -> None:
    if node.newVal:
        lint.op(Phase.EXPAND, f"ADD VALUE {node.newVal!r}")


def vacuum(lint: Linter, node: ast.VacuumStmt) -> None:
    if any(str(o.defname).lower() == "full" and option_on(o) for o in node.options or ()):
        for rel in node.rels or ():
            lint.lock(relation_name(rel.relation), ACCESS_EXCLUSIVE)


def cluster(lint: Linter, node: ast.ClusterStmt) -> None:
    if node.relation is not None:
        lint.lock(relation_name(node.relation), ACCESS_EXCLUSIVE)


def create_object(lint: Linter, node: ast.Node) -> None:
    lint.op(Phase.EXPAND, f"CREATE {CREATES[type(node)]}")


def create_view(lint: Linter, node: ast.ViewStmt) -> None:
    view = relation_name(present(node.view))
    lint.op(Phase.EXPAND, f"CREATE {'OR REPLACE ' if node.replace else ''}VIEW {view}")
    if node.replace:
        lint.lock(view, ACCESS_EXCLUSIVE)  # replacing a view in use blocks its readers
    else:
        lint.add_new_table(view)


def policy(lint: Linter, node: ast.CreatePolicyStmt | ast.AlterPolicyStmt) -> None:
    table = relation_name(present(node.table))
    verb = "CREATE" if isinstance(node, ast.CreatePolicyStmt) else "ALTER"
    lint.op(Phase.EXPAND if verb == "CREATE" else Phase.CONTRACT, f"{verb} POLICY {node.policy_name} ON {table}")
    lint.lock(table, ACCESS_EXCLUSIVE)


def refresh_matview(lint: Linter, node: ast.RefreshMatViewStmt) -> None:
    if not node.concurrent:
        lint.lock(relation_name(present(node.relation)), ACCESS_EXCLUSIVE)
