"""Rules for DDL statements: one function per statement kind, called by the engine with its state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType, OnCommitAction

from govctl.migration_lint import columns, statements
from govctl.migration_lint.catalogue import Phase
from govctl.migration_lint.columns import present
from govctl.migration_lint.locks import (
    ACCESS_EXCLUSIVE,
    CONCURRENT_MISPLACED,
    CREATES,
    LOCK_NAMES,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    option_on,
    relation_name,
)

__all__ = ["ALTERS", "HANDLERS", "LOCK_NAMES", "SHARE"]

if TYPE_CHECKING:
    from govctl.migration_lint.engine import Linter

# ALTER TABLE sub-commands that take less than ACCESS EXCLUSIVE (PostgreSQL docs, "ALTER TABLE").
_WEAKER_ALTERS = {
    AT.AT_SetStatistics: SHARE_UPDATE_EXCLUSIVE, AT.AT_ClusterOn: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DropCluster: SHARE_UPDATE_EXCLUSIVE, AT.AT_SetRelOptions: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetRelOptions: SHARE_UPDATE_EXCLUSIVE, AT.AT_ValidateConstraint: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_AttachPartition: SHARE_UPDATE_EXCLUSIVE, AT.AT_EnableTrig: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrig: SHARE_ROW_EXCLUSIVE, AT.AT_EnableTrigAll: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigAll: SHARE_ROW_EXCLUSIVE, AT.AT_EnableTrigUser: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigUser: SHARE_ROW_EXCLUSIVE,
}  # fmt: skip
_CONSTRAINT_LABELS = {
    ConstrType.CONSTR_PRIMARY: "PRIMARY KEY", ConstrType.CONSTR_UNIQUE: "UNIQUE", ConstrType.CONSTR_CHECK: "CHECK",
    ConstrType.CONSTR_FOREIGN: "FOREIGN KEY", ConstrType.CONSTR_EXCLUSION: "EXCLUDE",
}  # fmt: skip


# -- tables


def create_table(lint: Linter, node: ast.CreateStmt) -> None:
    table = relation_name(present(node.relation))
    # A temporary table dropped at commit is gone whenever the migration is retried.
    temporary = present(node.relation).relpersistence == "t"
    rerunnable = bool(node.if_not_exists) or (temporary and node.oncommit is OnCommitAction.ONCOMMIT_DROP)
    lint.rerunnable(rerunnable, "CREATE TABLE without IF NOT EXISTS")
    lint.add_new_table(table)
    lint.op(Phase.EXPAND, f"CREATE TABLE {table}")
    table_pk: set[str] = set()
    for element in node.tableElts or ():
        if isinstance(element, ast.Constraint):
            if element.contype is ConstrType.CONSTR_PRIMARY:
                table_pk.update(str(key.sval) for key in element.keys or ())
            if element.contype is ConstrType.CONSTR_FOREIGN and element.pktable:
                lint.lock(relation_name(element.pktable), SHARE_ROW_EXCLUSIVE)
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            facts = columns.column_facts(element)
            check_column_type(lint, facts, table, key=facts.primary_key or facts.name in table_pk)
            for referenced in facts.references:
                lint.lock(referenced, SHARE_ROW_EXCLUSIVE)


def create_table_as(lint: Linter, node: ast.CreateTableAsStmt) -> None:
    table = str(present(present(node.into).rel).relname)
    lint.add_new_table(table)
    lint.op(Phase.EXPAND, f"CREATE TABLE {table} AS")


def check_column_type(lint: Linter, facts: columns.ColumnFacts, table: str, *, key: bool) -> None:
    where = f"{table}.{facts.name}" if facts.name else table
    if facts.type == "bpchar":
        lint.flag("char-column", where)
    if facts.type == "timestamp":
        lint.flag("timestamp-without-time-zone", where)
    if facts.serial:
        lint.flag("serial-column", f"{where} {facts.type}")
    if facts.type in columns.SMALL_INT_TYPES and (key or facts.identity or facts.serial):
        lint.flag("int-primary-key", f"{where} {facts.type}")


def alter_table(lint: Linter, node: ast.AlterTableStmt) -> None:
    if node.objtype is not ObjectType.OBJECT_TABLE:
        return
    table = relation_name(present(node.relation))
    for cmd in node.cmds or ():
        subtype = AT(cmd.subtype)
        handler = ALTERS.get(subtype)
        if handler is not None:
            handler(lint, table, cmd)
        if subtype is AT.AT_DetachPartition and getattr(cmd.def_, "concurrent", False):
            lint.lock(table, SHARE_UPDATE_EXCLUSIVE)
        elif subtype is not AT.AT_AddConstraint:
            lint.lock(table, _WEAKER_ALTERS.get(subtype, ACCESS_EXCLUSIVE))


def add_column(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    assert isinstance(cmd.def_, ast.ColumnDef)  # ADD COLUMN carries a column definition
    facts = columns.column_facts(cmd.def_)
    where = f"{table}.{facts.name}"
    lint.op(Phase.EXPAND, f"ADD COLUMN {where}")
    check_column_type(lint, facts, table, key=facts.primary_key)
    lint.rerunnable(bool(cmd.missing_ok), "ADD COLUMN without IF NOT EXISTS")
    for referenced in facts.references:
        lint.lock(referenced, SHARE_ROW_EXCLUSIVE)
    if lint.is_new(table):
        return
    lint.new_columns.add((table, facts.name))
    fills_itself = facts.has_default or facts.identity or facts.serial or facts.stored_generated
    if facts.not_null and not fills_itself:
        lint.flag("add-not-null-column-without-default", where)
    if facts.computed_per_row or (facts.has_default and lint.opts.pg_version < 11):
        lint.flag("add-column-volatile-default", where)
    if facts.has_default and facts.not_null:
        lint.added_with_default.add((table, facts.name))
    if facts.references:
        lint.flag("add-foreign-key-without-not-valid", f"{where} REFERENCES {', '.join(facts.references)}")
    if facts.check:
        lint.flag("add-check-without-not-valid", where)
    if facts.primary_key:
        lint.flag("add-primary-key-without-index", where)
    elif facts.unique:
        lint.flag("add-unique-constraint-without-index", where)


def only_new_columns(lint: Linter, table: str, names: list[str]) -> bool:
    return bool(names) and all((table, name) in lint.new_columns for name in names)


def drop_column(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    where = f"{table}.{cmd.name}"
    lint.rerunnable(bool(cmd.missing_ok), "DROP COLUMN without IF EXISTS")
    if lint.is_new(table):
        return
    lint.op(Phase.CONTRACT, f"DROP COLUMN {where}")
    if not lint.in_contract():
        lint.flag("drop-column-outside-contract", where)


def alter_column_type(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    assert isinstance(cmd.def_, ast.ColumnDef)  # ALTER COLUMN ... TYPE carries a column definition
    facts = columns.column_facts(cmd.def_)
    where = f"{table}.{cmd.name}"
    widening = facts.type in columns.WIDENING_TARGETS and cmd.def_.raw_default is None
    if lint.is_new(table):
        lint.op(Phase.EXPAND, f"ALTER COLUMN {where} TYPE {facts.type}")
        return
    if facts.type == "timestamp":
        lint.flag("timestamp-without-time-zone", where)
    if facts.type == "bpchar":
        lint.flag("char-column", where)
    lint.op(Phase.EXPAND if widening else Phase.CONTRACT, f"ALTER COLUMN {where} TYPE {facts.type}")
    lint.flag("change-column-type-widening" if widening else "change-column-type", f"{where} -> {facts.type}")


def set_not_null(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    if lint.is_new(table):
        return
    lint.op(Phase.CONTRACT, f"SET NOT NULL {table}.{cmd.name}")
    if lint.opts.pg_version < 12:
        # Only PostgreSQL 12+ uses a validated CHECK to skip the full-table scan under ACCESS EXCLUSIVE.
        lint.flag(
            "set-not-null-without-check",
            f"{table}.{cmd.name} (PostgreSQL {lint.opts.pg_version} scans the table even after a validated CHECK)",
        )
    elif (lint.key(table), str(cmd.name)) not in lint.validated_not_null:
        lint.flag("set-not-null-without-check", f"{table}.{cmd.name}")


def drop_not_null(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    lint.op(Phase.EXPAND, f"DROP NOT NULL {table}.{cmd.name}")


def column_default(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    if cmd.def_ is None and (table, str(cmd.name)) in lint.added_with_default:
        lint.flag("add-default-then-drop-default", f"{table}.{cmd.name}")


def add_constraint(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    con = cmd.def_
    assert isinstance(con, ast.Constraint)  # ADD CONSTRAINT carries a constraint
    kind = present(con.contype)
    name = str(con.conname or "") or _CONSTRAINT_LABELS.get(kind, "constraint")
    new = lint.is_new(table)
    # ADD CONSTRAINT has no IF NOT EXISTS: a DROP CONSTRAINT IF EXISTS of the same name before it makes it rerunnable.
    lint.rerunnable(
        (lint.key(table), name) in lint.dropped_if_exists,
        "ADD CONSTRAINT without a DROP CONSTRAINT IF EXISTS of the same name before it",
    )
    # A constraint on columns added by this same migration restricts nothing the running code writes.
    phase = Phase.EXPAND if new or only_new_columns(lint, table, columns.constraint_columns(con)) else Phase.CONTRACT
    lint.constraint_phases[(table, name)] = phase
    lint.op(phase, f"ADD CONSTRAINT {name} ON {table}")
    if kind is ConstrType.CONSTR_FOREIGN:
        lint.lock(table, SHARE_ROW_EXCLUSIVE)
        if con.pktable is not None:
            lint.lock(relation_name(con.pktable), SHARE_ROW_EXCLUSIVE)
    else:
        lint.lock(table, ACCESS_EXCLUSIVE)
    if new:
        return
    if kind is ConstrType.CONSTR_EXCLUSION:
        lint.flag("add-exclusion-constraint", f"{name} on {table}")
        return
    checked_column = columns.not_null_column(con.raw_expr) if kind is ConstrType.CONSTR_CHECK else None
    if kind in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
        if con.skip_validation:
            lint.not_valid_in_tx.add((table, name))
            if checked_column:
                lint.pending_not_null_checks[(table, name)] = checked_column
        else:
            rule = (
                "add-foreign-key-without-not-valid"
                if kind is ConstrType.CONSTR_FOREIGN
                else ("add-check-without-not-valid")
            )
            lint.flag(rule, f"{name} on {table}")
            if checked_column:
                lint.validated_not_null.add((lint.key(table), checked_column))
    elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not con.indexname:
        rule = (
            "add-unique-constraint-without-index"
            if kind is ConstrType.CONSTR_UNIQUE
            else ("add-primary-key-without-index")
        )
        lint.flag(rule, f"{name} on {table}")


def validate_constraint(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    key = (table, str(cmd.name))
    if not lint.is_new(table):
        lint.op(lint.constraint_phases.get(key, Phase.CONTRACT), f"VALIDATE CONSTRAINT {cmd.name} ON {table}")
    if key in lint.not_valid_in_tx and lint.in_tx:
        lint.flag("validate-constraint-in-same-transaction", f"{cmd.name} on {table}")
    if key in lint.pending_not_null_checks:
        lint.validated_not_null.add((lint.key(table), lint.pending_not_null_checks[key]))


def drop_constraint(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    lint.rerunnable(bool(cmd.missing_ok), "DROP CONSTRAINT without IF EXISTS")
    if cmd.missing_ok:
        lint.dropped_if_exists.add((lint.key(table), str(cmd.name)))
    if not lint.is_new(table):
        lint.op(Phase.CONTRACT, f"DROP CONSTRAINT {cmd.name} ON {table}")


def rename(lint: Linter, node: ast.RenameStmt) -> None:
    kind = node.renameType
    if kind not in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN) or node.relation is None:
        return
    if kind is ObjectType.OBJECT_COLUMN and node.relationType is not ObjectType.OBJECT_TABLE:
        return
    table = relation_name(node.relation)
    lint.rerunnable(False, "RENAME")
    if lint.is_new(table):
        if kind is ObjectType.OBJECT_TABLE:
            schema = node.relation.schemaname
            lint.add_new_table(f"{schema}.{node.newname}" if schema else str(node.newname))
        return
    lint.lock(table, ACCESS_EXCLUSIVE)
    if kind is ObjectType.OBJECT_TABLE:
        lint.op(Phase.CONTRACT, f"RENAME TABLE {table} TO {node.newname}")
        lint.flag("rename-table", f"{table} -> {node.newname}")
    else:
        lint.op(Phase.CONTRACT, f"RENAME COLUMN {table}.{node.subname} TO {node.newname}")
        lint.flag("rename-column", f"{table}.{node.subname} -> {node.newname}")


# -- indexes


def create_index(lint: Linter, node: ast.IndexStmt) -> None:
    table = relation_name(present(node.relation))
    if node.idxname:
        lint.new_indexes.add(str(node.idxname))
    new = lint.is_new(table)
    indexed = [str(elem.name) for elem in node.indexParams or () if getattr(elem, "name", None)]
    tightening = bool(node.unique) and not new and not only_new_columns(lint, table, indexed)
    lint.op(
        Phase.CONTRACT if tightening else Phase.EXPAND,
        f"CREATE {'UNIQUE ' if node.unique else ''}INDEX {node.idxname or ''} ON {table}".replace("  ", " "),
    )
    lint.rerunnable(bool(node.if_not_exists), "CREATE INDEX without IF NOT EXISTS")
    if node.concurrent:
        if lint.in_tx:
            lint.flag("concurrent-index-in-transaction", f"CREATE INDEX {CONCURRENT_MISPLACED}")
    elif not new:
        lint.flag("create-index-non-concurrently", f"{node.idxname or '(unnamed)'} on {table}")
        lint.lock(table, SHARE)


def reindex(lint: Linter, node: ast.ReindexStmt) -> None:
    concurrent = any(str(p.defname).lower() == "concurrently" and option_on(p) for p in node.params or ())
    target = relation_name(node.relation) if node.relation else str(node.name or "")
    if concurrent and lint.in_tx:
        lint.flag("concurrent-index-in-transaction", f"REINDEX {CONCURRENT_MISPLACED}")
    elif not concurrent and not (lint.is_new(target) or target in lint.new_indexes):
        lint.flag("reindex-non-concurrently", target)
        lint.lock(target, SHARE)


def detach_partition(lint: Linter, table: str, cmd: ast.AlterTableCmd) -> None:
    partition = cmd.def_
    assert isinstance(partition, ast.PartitionCmd)  # DETACH PARTITION carries the partition
    name = relation_name(present(partition.name))
    lint.op(Phase.CONTRACT, f"DETACH PARTITION {name} FROM {table}")
    if partition.concurrent:
        if lint.in_tx:
            lint.flag("detach-partition-concurrently-in-transaction", f"{name} from {table}")
        return
    if not lint.is_new(table):
        lint.flag("detach-partition-non-concurrently", f"{name} from {table}")


ALTERS: dict[AT, Callable[[Linter, str, ast.AlterTableCmd], None]] = {
    AT.AT_DetachPartition: detach_partition,
    AT.AT_AddColumn: add_column,
    AT.AT_DropColumn: drop_column,
    AT.AT_AlterColumnType: alter_column_type,
    AT.AT_SetNotNull: set_not_null,
    AT.AT_DropNotNull: drop_not_null,
    AT.AT_ColumnDefault: column_default,
    AT.AT_AddConstraint: add_constraint,
    AT.AT_ValidateConstraint: validate_constraint,
    AT.AT_DropConstraint: drop_constraint,
}
# Any: each handler takes the node class it is keyed by, which a dict type cannot express.
HANDLERS: dict[type[ast.Node], Callable[[Linter, Any], None]] = {
    ast.CreateStmt: create_table,
    ast.CreateTableAsStmt: create_table_as,
    ast.AlterTableStmt: alter_table,
    ast.RenameStmt: rename,
    ast.DropStmt: statements.drop,
    ast.DropdbStmt: statements.drop_database,
    ast.TruncateStmt: statements.truncate,
    ast.IndexStmt: create_index,
    ast.ReindexStmt: reindex,
    ast.LockStmt: statements.lock_table,
    ast.CreateTrigStmt: statements.create_trigger,
    ast.AlterEnumStmt: statements.alter_enum,
    ast.VacuumStmt: statements.vacuum,
    ast.ClusterStmt: statements.cluster,
    **dict.fromkeys(CREATES, statements.create_object),
    ast.ViewStmt: statements.create_view,
    ast.CreatePolicyStmt: statements.policy,
    ast.AlterPolicyStmt: statements.policy,
    ast.RefreshMatViewStmt: statements.refresh_matview,
}
